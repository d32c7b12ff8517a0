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

/**
 * SQS FIFO batch → SendBounce calls, paced, at most once per recipient. A job whose recipients
 * are no longer QUEUED under its claim is skipped; after the first job that must be retried,
 * the rest of the batch is handed back untouched, keeping the group's order (partial batch response).
 */
export async function deliver(event: SQSEvent, deps: DeliverDeps, remainingTimeMs: () => number): Promise<SQSBatchResponse> {
  const failed: SQSRecord[] = [];
  for (const record of event.Records) {
    const result = failed.length > 0 || remainingTimeMs() < TIME_RESERVE_MS ? await handBack(record, deps) : await deliverRecord(record, deps, remainingTimeMs);
    if (result === 'retry') failed.push(record);
  }
  return { batchItemFailures: failed.map((record) => ({ itemIdentifier: record.messageId })) };
}

async function deliverRecord(record: SQSRecord, deps: DeliverDeps, remainingTimeMs: () => number): Promise<JobResult> {
  const job = parseJob(record, deps);
  if (job === undefined) return 'done';
  const receiveCount = Number(record.attributes.ApproximateReceiveCount) || 1;
  const now = (deps.clock ?? (() => new Date()))();
  try {
    const queued = await queuedRecipients(job, receiveCount, deps, now);
    if (queued.length === 0) return 'done';
    if (now.getTime() - Date.parse(job.receiptTime) > SEND_WINDOW_MS) {
      await settle(job, queued, LedgerState.Expired, deps, now, { error: 'past the 24 h SendBounce window' });
      deps.metrics.count(MetricName.Expired, queued.length);
      return 'done';
    }
    const outcome = await sendWithRetries(restrictTo(job, queued), deps, remainingTimeMs);
    return await recordOutcome(job, queued, outcome, receiveCount, deps);
  } catch (error) {
    // Ledger trouble: hand the job back. If the bounce went out, the next receive sees no retry
    // note for this attempt and marks it UNKNOWN instead of sending it again.
    deps.logger.error('delivery failed; the job goes back to the queue', { messageId: job.messageId, error: error as Error });
    deps.metrics.count(MetricName.Errors);
    return 'retry';
  }
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
    if (outcome.kind !== 'retryable') return outcome;
    if (outcome.throttled) deps.metrics.count(MetricName.Throttled);
    deps.logger.warn('SendBounce failed, retrying', { messageId: input.OriginalMessageId, attempt, error: outcome.error });
    if (attempt >= maxAttempts || remainingTimeMs() < TIME_RESERVE_MS) return outcome;
    deps.pacer.backOff(attempt);
  }
}

async function recordOutcome(job: BounceJob, queued: readonly string[], outcome: SendOutcome, receiveCount: number, deps: DeliverDeps): Promise<JobResult> {
  const now = (deps.clock ?? (() => new Date()))();
  switch (outcome.kind) {
    case 'sent':
      await settle(job, queued, LedgerState.Sent, deps, now, { bounceMessageId: outcome.bounceMessageId });
      deps.metrics.count(MetricName.Sent, queued.length);
      deps.logger.info('bounce sent', { messageId: job.messageId, recipients: queued, bounceMessageId: outcome.bounceMessageId });
      return 'done';
    case 'rejected':
      await settle(job, queued, LedgerState.Rejected, deps, now, { error: outcome.error });
      deps.metrics.count(MetricName.Rejected, queued.length);
      deps.logger.error('SES rejected the bounce', { messageId: job.messageId, error: outcome.error });
      return 'done';
    case 'unknown':
      await settle(job, queued, LedgerState.Unknown, deps, now, { error: outcome.error });
      deps.metrics.count(MetricName.Unknown, queued.length);
      deps.logger.error('SendBounce outcome unknown: not sending again', { messageId: job.messageId, error: outcome.error });
      return 'done';
    case 'retryable':
      await deps.ledger.noteRetry(job.messageId, queued, receiveCount, now);
      return 'retry';
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
async function handBack(record: SQSRecord, deps: DeliverDeps): Promise<JobResult> {
  const job = parseJob(record, deps);
  if (job === undefined) return 'done';
  const receiveCount = Number(record.attributes.ApproximateReceiveCount) || 1;
  await deps.ledger.noteRetry(job.messageId, job.recipients, receiveCount, (deps.clock ?? (() => new Date()))()).catch((error: unknown) => {
    deps.logger.error('cannot note the retry of an unattempted job', { messageId: job.messageId, error: error as Error });
  });
  return 'retry';
}
