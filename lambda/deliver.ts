// SQS FIFO (one message group) → this function: paced SendBounce calls, outcomes in the ledger.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SESClient } from '@aws-sdk/client-ses';
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DynamoDbLedger } from './aws/ledger.js';
import { SES_CLIENT_CONFIG, SesBounceSender } from './aws/ses.js';
import { loadDeliverConfig } from './app/config.js';
import { deliver, type DeliverDeps } from './app/deliver.js';
import { Pacer } from './app/pacer.js';
import { createLogger, createMetrics, PowertoolsMetrics } from './app/powertools.js';

export interface DeliverHandlerOptions {
  readonly deps: () => DeliverDeps;
  readonly logger: Logger;
  /** Flushed as EMF after each invocation. @default none (the local pipeline counts in memory) */
  readonly powertoolsMetrics?: Metrics;
}

/** The delivery handler with its middleware; the local pipeline builds it with in-process engines. */
export function createDeliverHandler(options: DeliverHandlerOptions) {
  const handler = middy<SQSEvent, SQSBatchResponse, Error, Context>().use(injectLambdaContext(options.logger));
  if (options.powertoolsMetrics) handler.use(logMetrics(options.powertoolsMetrics));
  return handler.handler((event, context) =>
    deliver(event, options.deps(), () => (typeof context?.getRemainingTimeInMillis === 'function' ? context.getRemainingTimeInMillis() : Number.MAX_SAFE_INTEGER)),
  );
}

const logger = createLogger();
const powertoolsMetrics = createMetrics();
let deps: DeliverDeps | undefined;

/** Read once per container; the pacer lives as long as the container, so pacing spans batches. */
function deliverDeps(): DeliverDeps {
  if (deps) return deps;
  const config = loadDeliverConfig();
  deps = {
    ledger: new DynamoDbLedger(new DynamoDBClient({}), config.tableName),
    sender: new SesBounceSender(new SESClient(SES_CLIENT_CONFIG)),
    pacer: new Pacer(config.sendRatePerSecond),
    logger,
    metrics: new PowertoolsMetrics(powertoolsMetrics),
  };
  return deps;
}

// In Lambda a bad setting fails the init, loudly; the batch stays in the queue until it is fixed.
if (process.env.AWS_LAMBDA_FUNCTION_NAME) deliverDeps();

export const handler = createDeliverHandler({ deps: deliverDeps, logger, powertoolsMetrics });
