// SES receipt rule → this function (RequestResponse): validate, decide, claim, queue, answer.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { DynamoDbLedger } from './aws/ledger.js';
import { SqsBounceQueue } from './aws/queue.js';
import { loadReceiptConfig } from './app/config.js';
import { failOpen } from './app/middleware.js';
import { createLogger, createMetrics, PowertoolsMetrics } from './app/powertools.js';
import { receive, type ReceiptDeps, type ReceiptResult } from './app/receive.js';
import { loadPolicyFile } from './core/policy.js';

const logger = createLogger();
const powertoolsMetrics = createMetrics();
const metrics = new PowertoolsMetrics(powertoolsMetrics);

let deps: ReceiptDeps | undefined;

/** Configuration and policy, read and checked once per container. A failure is retried on the next event. */
function receiptDeps(): ReceiptDeps {
  if (deps) return deps;
  const config = loadReceiptConfig();
  deps = {
    policy: loadPolicyFile(config.policyFile),
    ledger: new DynamoDbLedger(new DynamoDBClient({}), config.tableName),
    queue: new SqsBounceQueue(new SQSClient({}), config.queueUrl),
    logger,
    metrics,
  };
  return deps;
}

// In Lambda, surface a bad setting or policy at start-up, in the init log, not on the first message.
if (process.env.AWS_LAMBDA_FUNCTION_NAME) {
  try {
    receiptDeps();
  } catch (error) {
    logger.error('start-up failed: every message will be delivered untouched until this is fixed', { error: error as Error });
  }
}

export const handler = middy<unknown, ReceiptResult, Error, Context>()
  .use(injectLambdaContext(logger))
  .use(logMetrics(powertoolsMetrics))
  .use(failOpen({ logger, metrics, response: { disposition: 'CONTINUE' } as ReceiptResult }))
  .handler((event) => receive(event, receiptDeps()));
