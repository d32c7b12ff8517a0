// SES receipt rule → this function (RequestResponse): decide, queue, answer. Wiring only:
// the handler is lambda/app/handlers.ts, the use-case lambda/app/receive.ts.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { loadReceiptConfig } from './app/config.js';
import { createReceiptHandler } from './app/handlers.js';
import { onceUntilFailure } from './app/once.js';
import { createLogger, createMetrics, PowertoolsMetrics } from './app/powertools.js';
import type { ReceiptDeps } from './app/receive.js';
import { DynamoDbLedger } from './aws/ledger.js';
import { SqsBounceQueue } from './aws/queue.js';
import { DATA_PLANE_CLIENT_CONFIG } from './aws/timeouts.js';
import { loadPolicyFileLazily } from './app/policy-loader-lazy.js';

const logger = createLogger();
const powertoolsMetrics = createMetrics();
const metrics = new PowertoolsMetrics(powertoolsMetrics);
/** Configuration and policy, read and checked once per container. A failure is retried on the next event. */
const receiptDeps = onceUntilFailure(buildDeps);

async function buildDeps(): Promise<ReceiptDeps> {
  const config = loadReceiptConfig();
  return {
    policy: await loadPolicyFileLazily(config.policyFile),
    ledger: new DynamoDbLedger(new DynamoDBClient(DATA_PLANE_CLIENT_CONFIG), config.tableName),
    queue: new SqsBounceQueue(new SQSClient(DATA_PLANE_CLIENT_CONFIG), config.queueUrl),
    logger,
    metrics,
    stopDisposition: config.stopDisposition,
  };
}

// In Lambda, surface a bad setting or policy at start-up, in the init log, not on the first message.
if (process.env.AWS_LAMBDA_FUNCTION_NAME) {
  receiptDeps().catch((error: unknown) =>
    logger.error('start-up failed: every message will be delivered untouched until this is fixed', { error: error as Error }),
  );
}

export const handler = createReceiptHandler({ deps: receiptDeps, logger, metrics, powertoolsMetrics });
