// SQS FIFO (one message group) → this function: paced SendBounce calls, outcomes in the ledger.
// Wiring only: the handler is lambda/app/handlers.ts, the use-case lambda/app/deliver.ts.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESClient } from '@aws-sdk/client-ses';
import { SQSClient } from '@aws-sdk/client-sqs';
import { loadDeliverConfig } from './app/config.js';
import { PendingNotes, type DeliverDeps } from './app/deliver.js';
import { createDeliverHandler } from './app/handlers.js';
import { Pacer } from './app/pacer.js';
import { createLogger, createMetrics, PowertoolsMetrics } from './app/powertools.js';
import { DynamoDbLedger } from './aws/ledger.js';
import { SqsBounceQueue, SqsDeadLetterQueue } from './aws/queue.js';
import { SesBounceSender } from './aws/ses.js';
import { DATA_PLANE_CLIENT_CONFIG, SES_CLIENT_CONFIG } from './aws/timeouts.js';

const logger = createLogger();
const powertoolsMetrics = createMetrics();
let deps: DeliverDeps | undefined;

/** Read once per container; the pacer and the pending notes live as long as the container. */
function deliverDeps(): DeliverDeps {
  if (deps) return deps;
  const config = loadDeliverConfig();
  const sqs = config.queueUrl !== undefined || config.deadLetterQueueUrl !== undefined ? new SQSClient(DATA_PLANE_CLIENT_CONFIG) : undefined;
  deps = {
    ledger: new DynamoDbLedger(new DynamoDBClient(DATA_PLANE_CLIENT_CONFIG), config.tableName),
    sender: new SesBounceSender(new SESClient(SES_CLIENT_CONFIG)),
    pacer: new Pacer(config.sendRatePerSecond),
    logger,
    metrics: new PowertoolsMetrics(powertoolsMetrics),
    notes: new PendingNotes(),
    ...(sqs && config.queueUrl !== undefined && { requeue: new SqsBounceQueue(sqs, config.queueUrl) }),
    ...(sqs && config.deadLetterQueueUrl !== undefined && { deadLetters: new SqsDeadLetterQueue(sqs, config.deadLetterQueueUrl) }),
  };
  return deps;
}

// In Lambda a bad setting fails the init, loudly; the batch stays in the queue until it is fixed.
if (process.env.AWS_LAMBDA_FUNCTION_NAME) deliverDeps();

export const handler = createDeliverHandler({ deps: deliverDeps, logger, powertoolsMetrics });
