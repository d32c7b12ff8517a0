import { SEND_CUTOFF_MS } from '../core/window.js';

// How long each outside call may take, and what the two functions reserve for them, in one
// place: the SDK client settings (lambda/aws/timeouts.ts) are built from these, and the
// use-cases plan with them. docs/delivery.md "Time" explains each figure.

/** One ledger call, SDK retries included (DynamoDB answers in milliseconds; three tries fit). */
export const LEDGER_CALL_MS = 2_000;
/** One SQS SendMessage, SDK retries included. */
export const QUEUE_CALL_MS = 3_000;
/** SendBounce: 2 s to connect, 8 s for the answer, body included (SES answers in well under a second). */
export const SEND_CONNECT_MS = 2_000;
export const SEND_ANSWER_MS = 8_000;
export const SEND_CALL_MS = SEND_CONNECT_MS + SEND_ANSWER_MS;

/** Clocks of two Lambda containers may disagree by this much (NTP keeps them far closer). */
export const CLOCK_SKEW_MS = 5_000;

/**
 * How long one delivery attempt may send for, from its claim: no SendBounce of the attempt
 * starts later than this less one call. Past it (and the skew), another attempt that finds the
 * recipient still SENDING knows that no request of the first one is in flight any more.
 */
export const ATTEMPT_WINDOW_MS = 25_000;

/** Pause before a failed ledger write is tried once more in the invocation. */
export const LEDGER_RETRY_PAUSE_MS = 200;

/**
 * After an attempt's last send: record the outcome (a write and, on conflict, a read; the pair
 * tried twice, with a pause), or queue it as a note.
 */
export const RECORD_RESERVE_MS = 2 * (2 * LEDGER_CALL_MS) + LEDGER_RETRY_PAUSE_MS + QUEUE_CALL_MS + 1_000;

/** An attempt claims its recipients this long before its pacer slot at the earliest (a claim takes milliseconds). */
export const CLAIM_LEAD_MS = 200;

/** What an attempt needs before it claims: the claim (a write, a read), the pacer's wait, one send, recording. */
export function attemptReserveMs(pacerDelayMs: number): number {
  return 2 * LEDGER_CALL_MS + pacerDelayMs + SEND_CALL_MS + RECORD_RESERVE_MS;
}

/** The receipt function's time when the runtime does not say (its deployed timeout). */
export const RECEIPT_DEFAULT_BUDGET_MS = 10_000;
/** Kept back to return the answer and flush the metrics. */
export const RECEIPT_ANSWER_MARGIN_MS = 1_000;
/**
 * How the receipt function's time is shared, as fractions of it: the sender quota must be
 * answered by 40 %, the queue by 70 %, and the rest is kept for the tombstones written when the
 * queue did not confirm. (With the deployed 10 s: 3.6 s, 6.3 s, 9 s.)
 */
export const RECEIPT_QUOTA_SHARE = 0.4;
export const RECEIPT_ENQUEUE_SHARE = 0.7;

/** The delivery function's time when the runtime does not say (its deployed timeout). */
export const DELIVERY_DEFAULT_BUDGET_MS = 60_000;

/** SQS allows at most 1,000 receives in a redrive policy (SQS Developer Guide, dead-letter queues). */
const SQS_MAX_RECEIVE_COUNT = 1_000;
/** Lambda's guidance for an SQS event source: a visibility timeout of six times the function timeout (Lambda Developer Guide, "Using Lambda with Amazon SQS"). */
const VISIBILITY_PER_FUNCTION_TIMEOUT = 6;

export interface QueueSettings {
  /** How long a received job stays invisible: redelivery after a hand-back or a dead invocation. */
  readonly visibilityTimeoutSeconds: number;
  /**
   * The redrive policy's receives: more than a job can see before its send window closes, so
   * SQS itself never dead-letters a job for its neighbours' failures or for receives that never
   * ran; only the delivery function dead-letters, when the job's own attempts are spent.
   */
  readonly maxReceiveCount: number;
  /**
   * Every job waits this long before its first delivery: longer than the receipt function can
   * run, so that a receipt invocation whose queue answer was lost has cancelled the job (or
   * answered for it) before any delivery can take it (docs/delivery.md "Receipt").
   */
  readonly deliveryDelaySeconds: number;
}

/** The bounce queue's timing, from the two functions' timeouts and the SendBounce window. */
export function queueSettings(deliveryTimeoutSeconds: number, receiptTimeoutSeconds: number): QueueSettings {
  const windowSeconds = SEND_CUTOFF_MS / 1000;
  const visibilityTimeoutSeconds = Math.max(
    VISIBILITY_PER_FUNCTION_TIMEOUT * deliveryTimeoutSeconds,
    Math.ceil(windowSeconds / (SQS_MAX_RECEIVE_COUNT - 2)),
  );
  return {
    visibilityTimeoutSeconds,
    maxReceiveCount: Math.min(SQS_MAX_RECEIVE_COUNT, Math.ceil(windowSeconds / visibilityTimeoutSeconds) + 2),
    deliveryDelaySeconds: Math.ceil(receiptTimeoutSeconds) + 5,
  };
}

/** The rule-set audit's one SES call, SDK retries included; the function's timeout is twice this. */
export const AUDIT_CALL_MS = 10_000;
