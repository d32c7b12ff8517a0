import type { MiddlewareObj } from '@middy/core';
import type { LogPort, MetricsPort } from './ports.js';
import { MetricName } from './telemetry.js';

/**
 * The receipt function's last word on any error (a broken policy, DynamoDB or SQS down): log
 * it, count it, and let SES deliver the message. Failing open risks an unwanted message in a
 * mailbox; failing closed would risk bouncing mail that should have arrived.
 */
export function failOpen<TResult>(options: { logger: LogPort; metrics: MetricsPort; response: TResult }): MiddlewareObj<unknown, TResult> {
  return {
    onError: async (request) => {
      options.logger.error('receipt failed; delivering the message untouched', { error: request.error as Error });
      options.metrics.count(MetricName.Errors);
      request.response = options.response;
    },
  };
}
