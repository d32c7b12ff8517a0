// SES receipt rule → this function (RequestResponse): validate, decide, claim, queue, answer.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { DynamoDbLedger } from './aws/ledger.js';
import { SqsBounceQueue } from './aws/queue.js';
import { loadReceiptConfig } from './app/config.js';
import { failOpen } from './app/middleware.js';
import { createLogger, createMetrics, PowertoolsMetrics } from './app/powertools.js';
import { receive, type ReceiptDeps, type ReceiptResult } from './app/receive.js';
import type { MetricsPort } from './app/telemetry.js';
import { loadPolicyFileLazily } from './core/policy-compiler.js';

export interface ReceiptHandlerOptions {
  /** The use-case's dependencies, built on first use; a failure there fails open like any other. */
  readonly deps: () => ReceiptDeps | Promise<ReceiptDeps>;
  readonly logger: Logger;
  readonly metrics: MetricsPort;
  /** Flushed as EMF after each invocation. @default none (the local pipeline counts in memory) */
  readonly powertoolsMetrics?: Metrics;
}

/** The receipt handler with its middleware; the local pipeline builds it with in-process engines. */
export function createReceiptHandler(options: ReceiptHandlerOptions) {
  const handler = middy<unknown, ReceiptResult, Error, Context>().use(injectLambdaContext(options.logger));
  if (options.powertoolsMetrics) handler.use(logMetrics(options.powertoolsMetrics));
  return handler
    .use(failOpen({ logger: options.logger, metrics: options.metrics, response: { disposition: 'CONTINUE' } as ReceiptResult }))
    .handler(async (event) => receive(event, await options.deps()));
}

const logger = createLogger();
const powertoolsMetrics = createMetrics();
const metrics = new PowertoolsMetrics(powertoolsMetrics);
let deps: Promise<ReceiptDeps> | undefined;

/** Configuration and policy, read and checked once per container. A failure is retried on the next event. */
function receiptDeps(): Promise<ReceiptDeps> {
  deps ??= buildDeps().catch((error: unknown) => {
    deps = undefined;
    throw error;
  });
  return deps;
}

async function buildDeps(): Promise<ReceiptDeps> {
  const config = loadReceiptConfig();
  return {
    policy: await loadPolicyFileLazily(config.policyFile),
    ledger: new DynamoDbLedger(new DynamoDBClient({}), config.tableName),
    queue: new SqsBounceQueue(new SQSClient({}), config.queueUrl),
    logger,
    metrics,
  };
}

// In Lambda, surface a bad setting or policy at start-up, in the init log, not on the first message.
if (process.env.AWS_LAMBDA_FUNCTION_NAME) {
  receiptDeps().catch((error: unknown) =>
    logger.error('start-up failed: every message will be delivered untouched until this is fixed', { error: error as Error }),
  );
}

export const handler = createReceiptHandler({ deps: receiptDeps, logger, metrics, powertoolsMetrics });
