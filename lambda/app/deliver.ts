import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { LedgerState, type Ledger } from '../aws/ledger.js';
import type { BounceSender, SendOutcome } from '../aws/ses.js';
import type { SendBounceInput } from '../core/dsn.js';
import { BounceJob } from '../core/job.js';
import type { Pacer } from './pacer.js';
import { MetricName, type LogPort, type MetricsPort } from './telemetry.js';

export interface DeliverDeps {
  readonly ledger: Ledger;
  readonly sender: BounceSender;
  readonly pacer: Pacer;
  readonly logger: LogPort;
  readonly metrics: MetricsPort;
  /** @default () => new Date() */
  readonly clock?: () => Date;
  /** SendBounce attempts per job within one invocation before SQS redelivery takes over. @default 4 */
  readonly maxAttempts?: number;
}

/** SES accepts SendBounce up to 24 h after receipt; keep five minutes for the call itself. */
export const SEND_WINDOW_MS = 24 * 3600_000 - 5 * 60_000;
/** Stop taking jobs when less than this is left of the invocation, so none is cut mid-send. */
export const TIME_RESERVE_MS = 5_000;

type JobResult = 'done' | 'retry';

/** A job read from the batch with its ledger state, ready to send. */
interface PreparedJob {
  readonly job: BounceJob;
  readonly receiveCount: number;
  /** Recipients to bounce now; empty when there is nothing left to send. */
  readonly queued: readonly string[];
}

/**
 * SQS FIFO batch → SendBounce calls, paced, at most once per recipient. The ledger is read for
 * every job of the batch at once and outcomes are written behind the sends, so that calls follow
 * each other at the paced rate instead of waiting on DynamoDB in between. A job whose recipients
 * are no longer QUEUED under its claim is skipped; after the first job that must be retried, the
 * rest of the batch is handed back untouched, keeping the group's order (partial batch response).
 */
export async function deliver(event: SQSEvent, deps: DeliverDeps, remainingTimeMs: () => number): Promise<SQSBatchResponse> {
  const now = (deps.clock ?? (() => new Date()))();
  const prepared = event.Records.map((record) => prepare(record, deps, now));
  const failed = new Set<SQSRecord>();
  const outcomes: Promise<void>[] = [];
  for (const [index, record] of event.Records.entries()) {
    const job = await prepared[index]!;
    if (failed.size > 0 || remainingTimeMs() < TIME_RESERVE_MS) {
      if (job !== 'retry' && job !== undefined) await handBack(job, deps, now);
      failed.add(record);
      continue;
    }
    if (job === 'retry') failed.add(record);
    if (job === 'retry' || job === undefined || job.queued.length === 0) continue;
    const outcome = await sendWithRetries(restrictTo(job.job, job.queued), deps, remainingTimeMs);
    if (outcome.kind === 'retryable') {
      await deps.ledger.noteRetry(job.job.messageId, job.queued, job.receiveCount, now).catch((error: unknown) => logLedgerTrouble(job.job, error, deps));
      failed.add(record);
      continue;
    }
    outcomes.push(
      recordOutcome(job, outcome, deps).catch((error: unknown) => {
        // The bounce went out (or may have) but its outcome is not recorded: the redelivery will
        // find no retry note for this attempt and mark it UNKNOWN rather than send it again.
        logLedgerTrouble(job.job, error, deps);
        failed.add(record);
      }),
    );
  }
  await Promise.all(outcomes);
  return { batchItemFailures: event.Records.filter((record) => failed.has(record)).map((record) => ({ itemIdentifier: record.messageId })) };
}

/** Parses the job and reads its ledger state; 'retry' when DynamoDB cannot be read, undefined for a malformed job. */
async function prepare(record: SQSRecord, deps: DeliverDeps, now: Date): Promise<PreparedJob | 'retry' | undefined> {
  const job = parseJob(record, deps);
  if (job === undefined) return undefined;
  const receiveCount = Number(record.attributes.ApproximateReceiveCount) || 1;
  try {
    const queued = await queuedRecipients(job, receiveCount, deps, now);
    if (queued.length > 0 && now.getTime() - Date.parse(job.receiptTime) > SEND_WINDOW_MS) {
      await settle(job, queued, LedgerState.Expired, deps, now, { error: 'past the 24 h SendBounce window' });
      deps.metrics.count(MetricName.Expired, queued.length);
      return { job, receiveCount, queued: [] };
    }
    return { job, receiveCount, queued };
  } catch (error) {
    logLedgerTrouble(job, error, deps);
    return 'retry';
  }
}

function logLedgerTrouble(job: BounceJob, error: unknown, deps: DeliverDeps): void {
  deps.logger.error('ledger unavailable; the job goes back to the queue', { messageId: job.messageId, error: error as Error });
  deps.metrics.count(MetricName.Errors);
}

function parseJob(record: SQSRecord, deps: DeliverDeps): BounceJob | undefined {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch {
    body = undefined;
  }
  const parsed = BounceJob.safeParse(body);
  if (parsed.success) return parsed.data;
  // A malformed job can never succeed: log it whole (nothing is lost) rather than block the FIFO group.
  deps.logger.error('malformed bounce job dropped', { sqsMessageId: record.messageId, body: record.body.slice(0, 10_000), reason: parsed.error.message });
  deps.metrics.count(MetricName.Errors);
  return undefined;
}

/**
 * The job's recipients still QUEUED under its own claim. A receive after the first one must
 * follow a recorded retryable failure; otherwise the previous attempt ended without an outcome
 * (a crash or timeout, possibly after SES sent the bounce) and the recipients become UNKNOWN.
 */
async function queuedRecipients(job: BounceJob, receiveCount: number, deps: DeliverDeps, now: Date): Promise<string[]> {
  const records = await deps.ledger.get(job.messageId, job.recipients);
  const queued = job.recipients.filter((recipient) => {
    const item = records.get(recipient);
    return item?.state === LedgerState.Queued && item.claimToken === job.claimToken;
  });
  if (queued.length < job.recipients.length) {
    deps.logger.info('recipients no longer queued under this claim are skipped', { messageId: job.messageId, skipped: job.recipients.filter((r) => !queued.includes(r)) });
  }
  if (receiveCount === 1 || queued.length === 0) return queued;
  const unaccounted = queued.filter((recipient) => records.get(recipient)?.retryReceiveCount !== receiveCount - 1);
  if (unaccounted.length > 0) {
    await settle(job, unaccounted, LedgerState.Unknown, deps, now, { error: `delivery attempt ${receiveCount - 1} ended without an outcome` });
    deps.metrics.count(MetricName.Unknown, unaccounted.length);
    deps.logger.error('previous delivery attempt ended without an outcome: not sending again', { messageId: job.messageId, recipients: unaccounted });
  }
  return queued.filter((recipient) => !unaccounted.includes(recipient));
}

/** The job's SendBounce input narrowed to `recipients` (the job keeps them aligned by index). */
function restrictTo(job: BounceJob, recipients: readonly string[]): SendBounceInput {
  const keep = new Set(recipients);
  const list = job.sendBounce.BouncedRecipientInfoList.filter((_, index) => keep.has(job.recipients[index]!));
  return { ...job.sendBounce, BouncedRecipientInfoList: list };
}

async function sendWithRetries(input: SendBounceInput, deps: DeliverDeps, remainingTimeMs: () => number): Promise<SendOutcome> {
  const maxAttempts = deps.maxAttempts ?? 4;
  for (let attempt = 1; ; attempt++) {
    await deps.pacer.wait();
    const outcome = await deps.sender.send(input);
    deps.pacer.answered();
    if (outcome.kind !== 'retryable') return outcome;
    if (outcome.throttled) deps.metrics.count(MetricName.Throttled);
    deps.logger.warn('SendBounce failed, retrying', { messageId: input.OriginalMessageId, attempt, error: outcome.error });
    if (attempt >= maxAttempts || remainingTimeMs() < TIME_RESERVE_MS) return outcome;
    deps.pacer.backOff(attempt);
  }
}

async function recordOutcome({ job, queued }: PreparedJob, outcome: Exclude<SendOutcome, { kind: 'retryable' }>, deps: DeliverDeps): Promise<void> {
  const now = (deps.clock ?? (() => new Date()))();
  switch (outcome.kind) {
    case 'sent':
      deps.metrics.count(MetricName.Sent, queued.length);
      deps.logger.info('bounce sent', { messageId: job.messageId, recipients: queued, bounceMessageId: outcome.bounceMessageId });
      return settle(job, queued, LedgerState.Sent, deps, now, { bounceMessageId: outcome.bounceMessageId });
    case 'rejected':
      deps.metrics.count(MetricName.Rejected, queued.length);
      deps.logger.error('SES rejected the bounce', { messageId: job.messageId, error: outcome.error });
      return settle(job, queued, LedgerState.Rejected, deps, now, { error: outcome.error });
    case 'unknown':
      deps.metrics.count(MetricName.Unknown, queued.length);
      deps.logger.error('SendBounce outcome unknown: not sending again', { messageId: job.messageId, error: outcome.error });
      return settle(job, queued, LedgerState.Unknown, deps, now, { error: outcome.error });
  }
}

async function settle(
  job: BounceJob,
  recipients: readonly string[],
  to: LedgerState,
  deps: DeliverDeps,
  now: Date,
  details: { bounceMessageId?: string; error?: string },
): Promise<void> {
  const { conflicted } = await deps.ledger.transition({ messageId: job.messageId, recipients, from: LedgerState.Queued, to, now, ...details });
  if (conflicted.length > 0) deps.logger.warn('ledger state changed under this job', { messageId: job.messageId, to, conflicted });
}

/** A job not attempted in this invocation goes back with a retry note, so its next receive is not taken for a crash. */
async function handBack({ job, receiveCount }: PreparedJob, deps: DeliverDeps, now: Date): Promise<void> {
  await deps.ledger.noteRetry(job.messageId, job.recipients, receiveCount, now).catch((error: unknown) => logLedgerTrouble(job, error, deps));
}
