// The three Lambda handlers with their middleware, built from their dependencies. The entry
// files (lambda/receipt.ts, lambda/deliver.ts, lambda/audit.ts) only wire the AWS adapters in;
// the local pipeline and the tests build the same handlers around in-process engines.
import type { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { Disposition } from '../core/decide.js';
import { auditRuleSet, type AuditDeps } from './audit.js';
import { deliver, type DeliverDeps } from './deliver.js';
import { failOpen } from './middleware.js';
import type { MetricsPort } from './ports.js';
import { receive, type ReceiptDeps, type ReceiptResult } from './receive.js';

export interface ReceiptHandlerOptions {
  /** The use-case's dependencies, built on first use; a failure there fails open like any other. */
  readonly deps: () => ReceiptDeps | Promise<ReceiptDeps>;
  readonly logger: Logger;
  readonly metrics: MetricsPort;
  /** Flushed as EMF after each invocation. @default none (the local pipeline counts in memory) */
  readonly powertoolsMetrics?: Metrics;
}

export function createReceiptHandler(options: ReceiptHandlerOptions) {
  const handler = middy<unknown, ReceiptResult, Error, Context>().use(injectLambdaContext(options.logger));
  if (options.powertoolsMetrics) handler.use(logMetrics(options.powertoolsMetrics));
  return handler
    .use(failOpen({ logger: options.logger, metrics: options.metrics, response: { disposition: Disposition.Continue } }))
    .handler(async (event, context) => receive(event, await options.deps(), remainingTime(context)));
}

export interface DeliverHandlerOptions {
  readonly deps: () => DeliverDeps;
  readonly logger: Logger;
  /** Flushed as EMF after each invocation. @default none (the local pipeline counts in memory) */
  readonly powertoolsMetrics?: Metrics;
}

export function createDeliverHandler(options: DeliverHandlerOptions) {
  const handler = middy<SQSEvent, SQSBatchResponse, Error, Context>().use(injectLambdaContext(options.logger));
  if (options.powertoolsMetrics) handler.use(logMetrics(options.powertoolsMetrics));
  return handler.handler((event, context) => deliver(event, options.deps(), remainingTime(context)));
}

export interface AuditHandlerOptions {
  readonly deps: () => AuditDeps | Promise<AuditDeps>;
  readonly logger: Logger;
  /** Flushed as EMF after each invocation. @default none */
  readonly powertoolsMetrics?: Metrics;
}

/** The scheduled rule-set audit: a failure is the function's error (its alarm), never a silent pass. */
export function createAuditHandler(options: AuditHandlerOptions) {
  const handler = middy<unknown, { findings: number }, Error, Context>().use(injectLambdaContext(options.logger));
  if (options.powertoolsMetrics) handler.use(logMetrics(options.powertoolsMetrics));
  return handler.handler(async () => ({ findings: (await auditRuleSet(await options.deps())).findings.length }));
}

/** The invocation's remaining time, when the runtime gives it (the use-cases assume their deployed timeout otherwise). */
function remainingTime(context: Context | undefined): (() => number) | undefined {
  return typeof context?.getRemainingTimeInMillis === 'function' ? () => context.getRemainingTimeInMillis() : undefined;
}
