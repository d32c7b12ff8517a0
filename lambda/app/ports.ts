// What the use-cases (receive, deliver, auditRuleSet) need from the world, and nothing of how it
// is done: adapters in lambda/aws implement these against DynamoDB, SQS and SES; local/ and the
// tests have in-process ones. docs/architecture.md shows who calls what.
import type { Logger } from '@aws-lambda-powertools/logger';
import type { ActiveRuleSet } from '../core/rule-set-audit.js';
import type { SendBounceInput } from '../core/dsn.js';
import type { BounceJob } from '../core/job.js';
import type { MetricName } from './telemetry.js';

// ---------------------------------------------------------------------------------------------
// Ledger: one record per (SES message, canonical recipient). docs/delivery.md has the state
// diagram; every transition is a single-item conditional write fenced by the job or attempt id.

export const LedgerState = {
  /** A delivery attempt holds the recipient: a SendBounce naming it may be in flight. */
  Sending: 'SENDING',
  /** An attempt ended without sending (throttled, SES unreachable): the next attempt may take it. */
  Ready: 'READY',
  /** The receipt invocation that queued the job could not confirm it and delivered the message instead. */
  Cancelled: 'CANCELLED',
  Sent: 'SENT',
  /** SES refused the bounce itself (MessageRejected, a validation error). */
  Rejected: 'REJECTED',
  /** The 24 h SendBounce window passed before it could be sent. */
  Expired: 'EXPIRED',
  /** A SendBounce may have reached SES and no clean answer came: never sent again. */
  Unknown: 'UNKNOWN',
} as const;
export type LedgerState = (typeof LedgerState)[keyof typeof LedgerState];

export interface BounceRecord {
  readonly messageId: string;
  /** Canonical (core/recipient.ts). */
  readonly recipient: string;
  readonly state: LedgerState;
  /** The job that holds or last held the recipient. */
  readonly jobId: string;
  /** The attempt that holds or last held it (absent on a CANCELLED or EXPIRED record no attempt touched). */
  readonly attemptId?: string;
  /** When the attempt's invocation ends for sure (epoch ms): past it, a SENDING record is abandoned. */
  readonly attemptDeadline?: number;
  /** Attempts that ended without sending and count against the job's own retries. */
  readonly attempts: number;
  /** ISO 8601. */
  readonly updatedAt: string;
  readonly bounceMessageId?: string;
  readonly error?: string;
  /** Epoch seconds, the TTL attribute. */
  readonly expiresAt: number;
}

/** One delivery attempt of one job: an invocation's go at sending it. */
export interface Attempt {
  readonly id: string;
  readonly jobId: string;
  /** Epoch ms by which the invocation making the attempt has certainly ended. */
  readonly deadline: number;
}

/**
 * Per recipient: won by this attempt; held by `record`, which the caller looks at; or free yet
 * not taken for now (`record` undefined): the write failed, and when `uncertain` it may still be
 * applied later, so the attempt may turn out to hold it.
 */
export type ClaimResult =
  | { readonly won: true; readonly record?: undefined; readonly uncertain?: undefined }
  | { readonly won: false; readonly record: BounceRecord; readonly uncertain?: undefined }
  | { readonly won: false; readonly record: undefined; readonly uncertain: boolean };

/** A final outcome of an attempt. */
export type SettledOutcome =
  | { readonly state: typeof LedgerState.Sent; readonly bounceMessageId: string }
  | { readonly state: typeof LedgerState.Rejected | typeof LedgerState.Unknown; readonly error: string };

/** What the receipt function's tombstones found, per the whole job. */
export const CancelResult = {
  /** Every recipient now carries this job's tombstone: the job, if SQS has it, will send nothing. */
  Cancelled: 'cancelled',
  /** Every recipient is already held by this job's delivery: the job is in the queue and on its way. */
  Alive: 'alive',
  /** Anything else (some of each, another job's records). */
  Mixed: 'mixed',
} as const;
export type CancelResult = (typeof CancelResult)[keyof typeof CancelResult];

export interface Ledger {
  /**
   * Takes each recipient for `attempt` (SENDING) where it is free: no record, READY, or the
   * tombstone of another job. A write whose first answer was lost and whose SDK retry failed
   * its condition against the write itself is recognised by the attempt id: won.
   */
  claim(messageId: string, recipients: readonly string[], attempt: Attempt, now: Date): Promise<ReadonlyMap<string, ClaimResult>>;
  /** SENDING(attempt) → the outcome; also corrects UNKNOWN(attempt), written when the attempt looked abandoned. Returns the recipients someone else changed. */
  settle(messageId: string, recipients: readonly string[], attemptId: string, outcome: SettledOutcome, now: Date): Promise<readonly string[]>;
  /** SENDING(attempt) (or UNKNOWN(attempt)) → READY, counting the attempt when `counted`. Returns the highest attempt count among the recipients. */
  release(messageId: string, recipients: readonly string[], attemptId: string, counted: boolean, now: Date): Promise<number>;
  /** An abandoned attempt (its deadline passed with no outcome): SENDING(attempt) → UNKNOWN. true when this call made the change. */
  abandon(messageId: string, recipient: string, attemptId: string, now: Date): Promise<boolean>;
  /** EXPIRED wherever `claim` would have taken the recipient for this job; `won` where this call expired it. */
  expire(messageId: string, recipients: readonly string[], jobId: string, now: Date): Promise<ReadonlyMap<string, ClaimResult>>;
  /** The receipt function's tombstones for a job it could not confirm: CANCELLED(job) where there is no record. */
  cancel(messageId: string, recipients: readonly string[], jobId: string, now: Date, signal?: AbortSignal): Promise<CancelResult>;
  /** Strongly consistent read of these recipients' records; missing ones are absent from the map. */
  get(messageId: string, recipients: readonly string[]): Promise<ReadonlyMap<string, BounceRecord>>;
  /**
   * Per-sender hourly bounce budget, counted in distinct messages: true = within it (this
   * message counted, or counted already), false = over. limit 0 = unlimited, no I/O.
   */
  takeSenderQuota(sender: string, messageId: string, now: Date, limit: number, signal?: AbortSignal): Promise<boolean>;
}

// ---------------------------------------------------------------------------------------------
// Queue: SQS FIFO in AWS, the durable record of every job between the two functions.

export interface BounceQueue {
  /**
   * Resolves once the queue has the job durably. Sending the same job again (the same jobId
   * and notes) within the deduplication window stores it once.
   */
  enqueue(job: BounceJob, signal?: AbortSignal): Promise<void>;
}

export interface DeadLetterQueue {
  /** Parks a message body (a job that exhausted its own retries, or one that cannot be read) for an operator. */
  deadLetter(body: string, reason: string): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// SES SendBounce.

/**
 * What became of one SendBounce call. What matters is whether SES may have acted on the
 * request: only `retryable` outcomes are certain it did not.
 */
export type SendOutcome =
  | { readonly kind: 'sent'; readonly bounceMessageId: string }
  /** SES refused this bounce for good (MessageRejected, validation): retrying cannot help. */
  | { readonly kind: 'rejected'; readonly error: string }
  /** SES said it did not process the request (throttling, a 5xx), or the request never left: safe to send again. */
  | { readonly kind: 'retryable'; readonly error: string; readonly throttled: boolean }
  /** The request may have reached SES and no clean answer came: never sent again. */
  | { readonly kind: 'unknown'; readonly error: string };

export interface BounceSender {
  send(input: SendBounceInput): Promise<SendOutcome>;
}

// ---------------------------------------------------------------------------------------------
// Telemetry.

/** Counts, optionally split by one dimension (Guarded by Guard). */
export interface MetricsPort {
  count(name: MetricName, value?: number, dimension?: { readonly name: string; readonly value: string }): void;
}

/** The structured log lines the handlers write; Powertools' Logger fits it. */
export type LogPort = Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;

/** What time it is; the use-cases take one so that tests and the chaos suite can move it. */
export type Clock = () => Date;
export const systemClock: Clock = () => new Date();

/** The account's active receipt rule set (SES DescribeActiveReceiptRuleSet); undefined when none is active. */
export interface RuleSetReader {
  active(signal: AbortSignal): Promise<ActiveRuleSet | undefined>;
}
