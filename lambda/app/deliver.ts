import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { AttemptNote, BounceJob, jobRecipients, NotedOutcome, sendBounceFor, sendGroups } from '../core/job.js';
import { SEND_CUTOFF_MS } from '../core/window.js';
import type { SendPacer } from './pacer.js';
import {
  type Attempt,
  type BounceQueue,
  type BounceRecord,
  type BounceSender,
  type ClaimResult,
  type Clock,
  type DeadLetterQueue,
  type Ledger,
  LedgerState,
  type LogPort,
  type MetricsPort,
  type SendOutcome,
  type SettledOutcome,
  systemClock,
} from './ports.js';
import { MetricName } from './telemetry.js';
import {
  ATTEMPT_WINDOW_MS,
  attemptReserveMs,
  CLAIM_LEAD_MS,
  CLOCK_SKEW_MS,
  DELIVERY_DEFAULT_BUDGET_MS,
  LEDGER_RETRY_PAUSE_MS,
  RECORD_RESERVE_MS,
  SEND_CALL_MS,
} from './time-budget.js';

export interface DeliverDeps {
  readonly ledger: Ledger;
  readonly sender: BounceSender;
  readonly pacer: SendPacer;
  readonly logger: LogPort;
  readonly metrics: MetricsPort;
  /** Where a job goes back, carrying the outcomes the ledger could not take. @default none: such a job is handed back and the outcome kept in `notes` */
  readonly requeue?: BounceQueue;
  /** Where a job goes when its own retries are spent, or when it cannot be read. @default none: such a job is handed back, for the queue's redrive policy */
  readonly deadLetters?: DeadLetterQueue;
  /** Outcomes not yet recorded, for as long as the container lives. @default a new, empty one */
  readonly notes?: PendingNotes;
  /** @default systemClock */
  readonly clock?: Clock;
  /** @default randomUUID */
  readonly newAttemptId?: () => string;
  /** SendBounce calls in one attempt (retries of throttling and 5xx answers, with backoff). @default 3 */
  readonly maxSendsPerAttempt?: number;
  /** Attempts that end without sending and count (not throttling) before a job is dead-lettered. @default 5 */
  readonly maxAttempts?: number;
}

/** Outcomes that neither the ledger nor the queue could take, kept in the container for the job's next delivery. */
export class PendingNotes {
  readonly #byJob = new Map<string, AttemptNote[]>();

  add(jobId: string, note: AttemptNote): void {
    this.#byJob.set(jobId, [...(this.#byJob.get(jobId) ?? []), note]);
  }

  take(jobId: string): AttemptNote[] {
    const notes = this.#byJob.get(jobId) ?? [];
    this.#byJob.delete(jobId);
    return notes;
  }
}

/** What became of one job in this invocation. */
type JobResult =
  /** Finished with here: SQS may delete the message (sent, settled, requeued, dead-lettered). */
  | 'done'
  /** Handed back: SQS redelivers it after the visibility timeout; the rest of the batch follows it back. */
  | 'hand-back'
  /**
   * Handed back alone: a job that cannot go on and could not be parked. The jobs after it go on,
   * or each time it came back they would come back with it, their receive counts rising with
   * its own, until the queue's redrive parked them too, unsent.
   */
  | 'hand-back-alone';

/**
 * A job's outcomes that its outcome writes could not record. They leave with the job once, in one
 * copy: two copies carrying different notes would come back one after the other, and the first
 * would take the recipients the second says were sent for abandoned mid-send (UNKNOWN).
 */
interface Unrecorded {
  readonly job: BounceJob;
  /** The SQS message the job came in. */
  readonly messageId: string;
  readonly writes: Promise<void>[];
  /** What no carry has taken yet: the job's own flow takes it when it carries, the end of the batch what is left. */
  readonly notes: AttemptNote[];
}

interface Run {
  readonly deps: DeliverDeps;
  readonly notes: PendingNotes;
  readonly now: () => Date;
  /** Epoch ms when this invocation ends. */
  readonly end: number;
  /** Outcome writes running behind the next sends. */
  readonly recording: Promise<void>[];
  /** Per job: its outcome writes still running, and the outcomes they could not record. */
  readonly unrecorded: Map<string, Unrecorded>;
  /** The attempts this invocation made: their SENDING records have an answer being recorded. */
  readonly attempts: Set<string>;
  readonly failed: Set<string>;
}

/**
 * SQS FIFO batch → paced SendBounce calls, at most once per recipient (docs/delivery.md
 * "Delivery"). Each job is claimed in the ledger by a fresh attempt just before it is sent;
 * outcomes are recorded fenced by that attempt, behind the next sends. After the first job that
 * must go back, the rest of the batch goes back untouched, as the FIFO group's order asks, and
 * nothing is counted against them: a job's retries are counted in the ledger, not by SQS.
 */
export async function deliver(event: SQSEvent, deps: DeliverDeps, remainingTimeMs?: () => number): Promise<SQSBatchResponse> {
  const clock = deps.clock ?? systemClock;
  const run: Run = {
    deps,
    notes: deps.notes ?? new PendingNotes(),
    now: clock,
    end: Date.now() + (remainingTimeMs?.() ?? DELIVERY_DEFAULT_BUDGET_MS),
    recording: [],
    unrecorded: new Map(),
    attempts: new Set(),
    failed: new Set(),
  };
  let handingBack = false;
  for (const record of event.Records) {
    const result: JobResult = handingBack ? 'hand-back' : await deliverJob(record, run);
    if (result === 'hand-back') handingBack = true;
    if (result !== 'done') run.failed.add(record.messageId);
  }
  await Promise.all(run.recording);
  // What the jobs' own flows did not carry, each job once, side by side (each within the recording reserve).
  await Promise.all(
    [...run.unrecorded.values()].map(async ({ job, messageId, notes }) => {
      if (notes.length > 0 && (await carry(job, notes, run)) === 'hand-back') run.failed.add(messageId);
    }),
  );
  if (run.failed.size > 0) deps.metrics.count(MetricName.Retried, run.failed.size);
  return { batchItemFailures: event.Records.filter((record) => run.failed.has(record.messageId)).map((record) => ({ itemIdentifier: record.messageId })) };
}

async function deliverJob(record: SQSRecord, run: Run): Promise<JobResult> {
  const { deps } = run;
  const parsed = parseJob(record);
  if (typeof parsed === 'string') return deadLetter(record.body, `unreadable job: ${parsed}`, run);
  const job = withoutNotes(parsed);
  try {
    // Outcomes an earlier attempt could not record come first: they may settle recipients.
    const attempts = await applyNotes(parsed, run);
    if (attempts >= maxAttempts(deps)) return deadLetter(JSON.stringify(job), `${attempts} attempts failed`, run);
    if (run.now().getTime() - Date.parse(job.receiptTime) > SEND_CUTOFF_MS) return await expire(job, run);
  } catch (error) {
    logLedgerTrouble(job, error, run);
    return 'hand-back';
  }
  // One attempt per group of recipients that fits one SendBounce call (most jobs are one group).
  let result: JobResult = 'done';
  for (const group of sendGroups(job)) {
    if (run.end - Date.now() < attemptReserveMs(deps.pacer.delay())) {
      deps.logger.info('no time left for an attempt in this invocation: handing the job back', { messageId: job.messageId, jobId: job.jobId });
      return 'hand-back';
    }
    const outcome = await attempt(job, group, record, run);
    // A group carried back with notes: the requeued copy now holds the whole job.
    if (outcome === 'carried') return 'done';
    if (outcome === 'hand-back-alone') return outcome;
    if (outcome === 'hand-back') result = 'hand-back';
  }
  return result;
}

/** One attempt on `group`: claim what is free, send it, record the outcome (or carry it as a note). */
async function attempt(job: BounceJob, group: readonly string[], record: SQSRecord, run: Run): Promise<JobResult | 'carried'> {
  const { deps } = run;
  // Claim only just before the slot: a crash between claim and call is the one way an attempt
  // that sent nothing ends UNKNOWN, so that gap stays short even after a long backoff.
  const early = deps.pacer.delay() - CLAIM_LEAD_MS;
  if (early > 0) await sleep(early);
  const now = run.now();
  // No SendBounce of this attempt is still running after its window (see sendWithRetries).
  const window = Math.min(ATTEMPT_WINDOW_MS, run.end - Date.now() - RECORD_RESERVE_MS);
  const sendBy = Date.now() + window;
  const attempt: Attempt = { id: (deps.newAttemptId ?? randomUUID)(), jobId: job.jobId, deadline: now.getTime() + window };
  run.attempts.add(attempt.id);
  const recipients = group;
  let claims: ReadonlyMap<string, ClaimResult>;
  try {
    // The claim's round trip runs while the pacer waits for the slot, so the call leaves on time.
    [claims] = await Promise.all([deps.ledger.claim(job.messageId, recipients, attempt, now), deps.pacer.wait()]);
  } catch (error) {
    // Some claims may have been written, or may still be: the job comes back carrying a note
    // that gives back whatever this attempt holds by then.
    logLedgerTrouble(job, error, run);
    return carried(await carryJob(job, [notSent(attempt, recipients, false)], run));
  }
  const won = recipients.filter((recipient) => claims.get(recipient)?.won);
  const uncertain = recipients.filter((recipient) => claims.get(recipient)?.uncertain === true);
  // A write that failed may still be applied after we gave up on it: the note releases it later.
  const notes: AttemptNote[] = uncertain.length > 0 ? [notSent(attempt, uncertain, false)] : [];
  let busy = [...claims.values()].some((claim) => !claim.won && claim.record === undefined);

  if (won.length > 0 && Date.now() + SEND_CALL_MS > sendBy) {
    // The claim took so long that a call would not end inside the attempt's window.
    busy = true;
    await release(job, attempt, won, false, run, notes);
  } else if (won.length > 0) {
    const outcome = await sendWithRetries(sendBounceFor(job, won), sendBy, deps);
    if (outcome.kind === 'retryable') {
      busy = true;
      const attempts = await release(job, attempt, won, !outcome.throttled, run, notes);
      if (attempts >= maxAttempts(deps)) {
        await lookAtHeld(job, claims, run);
        // Parked whole, with every note of the job: its other groups go with it ('carried' ends the job here).
        const all = [...(await takeUnrecorded(job, run)), ...notes];
        const parked = await deadLetter(JSON.stringify({ ...job, ...(all.length > 0 && { notes: all }) }), `${attempts} attempts failed: ${outcome.error}`, run);
        // Not parked: its notes (recipients never sent) must not go with this attempt, or a later one would take them for doubtful.
        return carried(parked === 'hand-back-alone' && all.length > 0 ? await carry(job, all, run) : parked);
      }
    } else {
      count(outcome, won.length, job, deps);
      // Recorded behind the next sends; if it cannot be recorded, the job comes back with it.
      const unrecorded = unrecordedOf(job, record, run);
      const write = settle(job, attempt.id, won, settled(outcome), run).then((note) => {
        if (note !== undefined) unrecorded.notes.push(note);
      });
      unrecorded.writes.push(write);
      run.recording.push(write);
    }
  }
  busy = (await lookAtHeld(job, claims, run)) || busy;
  if (notes.length > 0) return carried(await carryJob(job, notes, run));
  return busy ? 'hand-back' : 'done';
}

function unrecordedOf(job: BounceJob, record: SQSRecord, run: Run): Unrecorded {
  let unrecorded = run.unrecorded.get(job.jobId);
  if (unrecorded === undefined) {
    unrecorded = { job, messageId: record.messageId, writes: [], notes: [] };
    run.unrecorded.set(job.jobId, unrecorded);
  }
  return unrecorded;
}

/** Carries the job with `notes` and, once its outcome writes are done, whatever they could not record: one copy. */
async function carryJob(job: BounceJob, notes: readonly AttemptNote[], run: Run): Promise<JobResult> {
  return carry(job, [...(await takeUnrecorded(job, run)), ...notes], run);
}

/** Waits for the job's outcome writes so far and takes what they could not record, for the job's own flow to carry. */
async function takeUnrecorded(job: BounceJob, run: Run): Promise<AttemptNote[]> {
  const unrecorded = run.unrecorded.get(job.jobId);
  if (unrecorded === undefined) return [];
  await Promise.all(unrecorded.writes);
  return unrecorded.notes.splice(0);
}

/** 'done' from carry (or a dead letter) means another message now stands for the job: this one ends here. */
function carried(result: JobResult): JobResult | 'carried' {
  return result === 'done' ? 'carried' : result;
}

function notSent(attempt: Attempt, recipients: readonly string[], counted: boolean): AttemptNote {
  return { attemptId: attempt.id, recipients: [...recipients], outcome: NotedOutcome.NotSent, counted };
}

/**
 * The recipients this attempt did not win. A SENDING record of an attempt whose window has
 * passed was abandoned mid-send (its invocation died or timed out): it may have been sent, so
 * it becomes UNKNOWN, never sent again. A SENDING record of an attempt of this invocation has
 * its answer and is being recorded. true when some recipient is still held by a live attempt
 * elsewhere, so the job must come back later.
 */
async function lookAtHeld(job: BounceJob, claims: ReadonlyMap<string, ClaimResult>, run: Run): Promise<boolean> {
  const { deps } = run;
  const checks = [...claims].map(async ([recipient, claim]): Promise<boolean> => {
    if (claim.won || claim.record === undefined) return false;
    const record: BounceRecord = claim.record;
    if (record.state === LedgerState.Sending) {
      if (record.attemptId !== undefined && run.attempts.has(record.attemptId)) return false;
      if (run.now().getTime() <= (record.attemptDeadline ?? 0) + CLOCK_SKEW_MS) return true;
      return abandon(job, recipient, record, run);
    }
    if (record.state === LedgerState.Cancelled) {
      deps.logger.info('the receipt function cancelled this job and delivered the message', { messageId: job.messageId, recipient, jobId: job.jobId });
    } else if (record.jobId !== job.jobId) {
      deps.metrics.count(MetricName.ClaimConflict);
      deps.logger.info('another job bounces this recipient', { messageId: job.messageId, recipient, state: record.state });
    }
    return false;
  });
  return (await Promise.all(checks)).some(Boolean);
}

/** Marks an abandoned attempt's recipient UNKNOWN. true when that could not be done now (try later). */
async function abandon(job: BounceJob, recipient: string, record: BounceRecord, run: Run): Promise<boolean> {
  try {
    if (await run.deps.ledger.abandon(job.messageId, recipient, record.attemptId ?? '', run.now())) {
      run.deps.metrics.count(MetricName.Unknown);
      run.deps.logger.error('an earlier attempt ended without an outcome: its bounce may have been sent, so it is not sent again', {
        messageId: job.messageId,
        recipient,
        attemptId: record.attemptId,
      });
    }
    return false;
  } catch (error) {
    logLedgerTrouble(job, error, run);
    return true;
  }
}

/** `sendBy`: epoch ms (this machine's clock) after which no call of the attempt may still be running. */
async function sendWithRetries(input: ReturnType<typeof sendBounceFor>, sendBy: number, deps: DeliverDeps): Promise<SendOutcome> {
  const maxSends = deps.maxSendsPerAttempt ?? 3;
  for (let call = 1; ; call++) {
    deps.pacer.started();
    const outcome = await deps.sender.send(input);
    deps.pacer.answered();
    if (outcome.kind !== 'retryable') return outcome;
    if (outcome.throttled) deps.metrics.count(MetricName.Throttled);
    deps.logger.warn('SendBounce not processed', { messageId: input.OriginalMessageId, call, error: outcome.error });
    if (call >= maxSends) return outcome;
    deps.pacer.backOff(call);
    // The next call must end inside the attempt's window, or a later attempt could take the
    // recipients for abandoned while it is still in flight.
    if (Date.now() + deps.pacer.delay() + SEND_CALL_MS > sendBy) return outcome;
    await deps.pacer.wait();
  }
}

function settled(outcome: Exclude<SendOutcome, { kind: 'retryable' }>): SettledOutcome {
  switch (outcome.kind) {
    case 'sent':
      return { state: LedgerState.Sent, bounceMessageId: outcome.bounceMessageId };
    case 'rejected':
      return { state: LedgerState.Rejected, error: outcome.error };
    case 'unknown':
      return { state: LedgerState.Unknown, error: outcome.error };
  }
}

function count(outcome: Exclude<SendOutcome, { kind: 'retryable' }>, recipients: number, job: BounceJob, deps: DeliverDeps): void {
  switch (outcome.kind) {
    case 'sent':
      deps.metrics.count(MetricName.Sent, recipients);
      deps.logger.info('bounce sent', { messageId: job.messageId, recipients, bounceMessageId: outcome.bounceMessageId });
      return;
    case 'rejected':
      deps.metrics.count(MetricName.Rejected, recipients);
      deps.logger.error('SES rejected the bounce', { messageId: job.messageId, error: outcome.error });
      return;
    case 'unknown':
      deps.metrics.count(MetricName.Unknown, recipients);
      deps.logger.error('SendBounce outcome unknown: not sending again', { messageId: job.messageId, error: outcome.error });
  }
}

/** Records an attempt's outcome; if the ledger cannot take it, gives it as the note the job is to carry. */
async function settle(job: BounceJob, attemptId: string, recipients: readonly string[], outcome: SettledOutcome, run: Run): Promise<AttemptNote | undefined> {
  try {
    const conflicted = await twice(() => run.deps.ledger.settle(job.messageId, recipients, attemptId, outcome, run.now()));
    if (conflicted.length > 0) run.deps.logger.warn('ledger records changed under this attempt', { messageId: job.messageId, attemptId, conflicted });
    return undefined;
  } catch (error) {
    logLedgerTrouble(job, error, run);
    return outcome.state === LedgerState.Sent
      ? { attemptId, recipients: [...recipients], outcome: NotedOutcome.Sent, bounceMessageId: outcome.bounceMessageId }
      : { attemptId, recipients: [...recipients], outcome: outcome.state === LedgerState.Rejected ? NotedOutcome.Rejected : NotedOutcome.Unknown, error: outcome.error };
  }
}

/**
 * An attempt that sent nothing gives its recipients back (READY), counting the attempt when it
 * counts. Returns the job's attempts so far; when the ledger cannot take it, the note goes into
 * `notes` for the job to carry, and 0.
 */
async function release(job: BounceJob, attempt: Attempt, recipients: readonly string[], counted: boolean, run: Run, notes: AttemptNote[]): Promise<number> {
  try {
    return await twice(() => run.deps.ledger.release(job.messageId, recipients, attempt.id, counted, run.now()));
  } catch (error) {
    logLedgerTrouble(job, error, run);
    notes.push(notSent(attempt, recipients, counted));
    return 0;
  }
}

/** A ledger write tried again once after a short pause: a single failed request must not cost a note. */
async function twice<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch {
    await sleep(LEDGER_RETRY_PAUSE_MS);
    return write();
  }
}

/**
 * Outcomes the ledger could not take: the job goes back to the queue carrying them, and the
 * next delivery records them first ('done': the copy is the job now). When the queue fails too,
 * this container keeps them for the job's next delivery here, and the job is handed back.
 */
async function carry(job: BounceJob, notes: readonly AttemptNote[], run: Run): Promise<JobResult> {
  if (run.deps.requeue !== undefined) {
    try {
      await run.deps.requeue.enqueue({ ...job, notes: [...notes] });
      run.deps.logger.warn('outcome queued with the job for the next delivery to record', { messageId: job.messageId, notes });
      return 'done';
    } catch (error) {
      run.deps.logger.error('cannot requeue the job with its outcome either', { messageId: job.messageId, error: error as Error });
      run.deps.metrics.count(MetricName.Errors);
    }
  }
  for (const note of notes) run.notes.add(job.jobId, note);
  return 'hand-back';
}

/**
 * Records the notes a job carries (and any this container kept for it): each one moves the
 * attempt's recipients from SENDING (or UNKNOWN, if a later attempt took it for abandoned)
 * to the outcome. Returns the highest count of attempts among recipients given back.
 */
async function applyNotes(job: BounceJob, run: Run): Promise<number> {
  const notes = [...(job.notes ?? []), ...run.notes.take(job.jobId)];
  let attempts = 0;
  for (const [index, note] of notes.entries()) {
    try {
      if (note.outcome === NotedOutcome.NotSent) {
        attempts = Math.max(attempts, await run.deps.ledger.release(job.messageId, note.recipients, note.attemptId, note.counted ?? false, run.now()));
      } else {
        await run.deps.ledger.settle(job.messageId, note.recipients, note.attemptId, notedOutcome(note), run.now());
      }
    } catch (error) {
      // Not recorded yet: keep this one and the rest for the next try.
      for (const pending of notes.slice(index)) run.notes.add(job.jobId, pending);
      throw error;
    }
  }
  return attempts;
}

function notedOutcome(note: AttemptNote): SettledOutcome {
  if (note.outcome === NotedOutcome.Sent) return { state: LedgerState.Sent, bounceMessageId: note.bounceMessageId ?? '' };
  const state = note.outcome === NotedOutcome.Rejected ? LedgerState.Rejected : LedgerState.Unknown;
  return { state, error: note.error ?? 'recorded from a note' };
}

/** Past the SendBounce window: EXPIRED wherever the job could still have sent. */
async function expire(job: BounceJob, run: Run): Promise<JobResult> {
  const results = await run.deps.ledger.expire(job.messageId, jobRecipients(job), job.jobId, run.now());
  const expired = [...results.values()].filter((result) => result.won).length;
  if (expired > 0) {
    run.deps.metrics.count(MetricName.Expired, expired);
    run.deps.logger.error('past the 24 h SendBounce window: not sent', { messageId: job.messageId, receiptTime: job.receiptTime, expired });
  }
  const racing = [...results.values()].some((result) => !result.won && result.record === undefined);
  return (await lookAtHeld(job, results, run)) || racing ? 'hand-back' : 'done';
}

async function deadLetter(body: string, reason: string, run: Run): Promise<JobResult> {
  const { deps } = run;
  if (deps.deadLetters === undefined) {
    // Nothing is dropped: the queue's own redrive policy parks it in the end.
    deps.logger.error('job cannot go on and no dead-letter queue is configured: handing it back', { reason, body: body.slice(0, 10_000) });
    deps.metrics.count(MetricName.Errors);
    return 'hand-back-alone';
  }
  try {
    await deps.deadLetters.deadLetter(body, reason);
    deps.logger.error('job moved to the dead-letter queue', { reason });
    deps.metrics.count(MetricName.DeadLettered);
    return 'done';
  } catch (error) {
    deps.logger.error('cannot move the job to the dead-letter queue: handing it back', { reason, error: error as Error });
    deps.metrics.count(MetricName.Errors);
    return 'hand-back-alone';
  }
}

/** The job, or why it cannot be read. */
function parseJob(record: SQSRecord): BounceJob | string {
  let body: unknown;
  try {
    body = JSON.parse(record.body);
  } catch {
    return 'not JSON';
  }
  const parsed = BounceJob.safeParse(body);
  return parsed.success ? parsed.data : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ');
}

function withoutNotes(job: BounceJob): BounceJob {
  const { notes: _notes, ...rest } = job;
  return rest;
}

function maxAttempts(deps: DeliverDeps): number {
  return deps.maxAttempts ?? 5;
}

function logLedgerTrouble(job: BounceJob, error: unknown, run: Run): void {
  run.deps.logger.error('ledger unavailable', { messageId: job.messageId, jobId: job.jobId, error: error as Error });
  run.deps.metrics.count(MetricName.Errors);
}
