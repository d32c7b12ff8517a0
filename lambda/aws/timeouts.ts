import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { LEDGER_CALL_MS, QUEUE_CALL_MS, SEND_ANSWER_MS, SEND_CALL_MS, SEND_CONNECT_MS } from '../app/time-budget.js';

// Every SDK call has a bounded connect and answer time (docs/delivery.md "Time"), built from
// the figures the use-cases plan with (lambda/app/time-budget.ts).
//
// `requestTimeout` with `throwOnRequestTimeout` bounds one HTTP attempt up to the response
// headers; the abort signal each adapter passes to `send` bounds the whole call, SDK retries and
// a body that stops half way included.

/** DynamoDB and SQS: standard retries (their writes are conditional or deduplicated, so a retry is safe), short waits. */
export const DATA_PLANE_CLIENT_CONFIG = {
  maxAttempts: 3,
  requestHandler: { connectionTimeout: 500, requestTimeout: 1_000, throwOnRequestTimeout: true },
} as const;

/**
 * SendBounce: no SDK retries (a connection reset after the request left would be retried and
 * could send a bounce twice; the delivery function classifies and retries itself). A
 * connection not made in time was never used (retryable); an answer not received in time may
 * follow a sent bounce (unknown).
 */
export const SES_CLIENT_CONFIG = {
  maxAttempts: 1,
  requestHandler: {
    connectionTimeout: SEND_CONNECT_MS,
    requestTimeout: SEND_ANSWER_MS,
    throwOnRequestTimeout: true,
    // A fresh connection per call: a kept-alive socket that the server (or a frozen Lambda
    // container) has dropped in the meantime fails with a reset that would look like a request
    // lost after it left (UNKNOWN). A new connection fails before sending, when it fails.
    httpAgent: new HttpAgent({ keepAlive: false }),
    httpsAgent: new HttpsAgent({ keepAlive: false }),
  },
};

export { LEDGER_CALL_MS, QUEUE_CALL_MS, SEND_CALL_MS };

/** An abort signal that fires after `timeoutMs`, or earlier with `outer`. */
export function callSignal(timeoutMs: number, outer?: AbortSignal): AbortSignal {
  const timeout = AbortSignal.timeout(Math.max(0, Math.ceil(timeoutMs)));
  return outer === undefined ? timeout : AbortSignal.any([outer, timeout]);
}
