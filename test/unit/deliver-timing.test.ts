// The first SendBounce of an attempt must end inside the attempt's window, whatever the claim and
// the held recipients cost before it (found by review: it used to be checked before retries only).
import { jest } from '@jest/globals';
import type { SQSRecord } from 'aws-lambda';
import { deliver } from '../../lambda/app/deliver.js';
import type { Attempt, BounceRecord, Ledger } from '../../lambda/app/ports.js';
import { attemptReserveMs, LEDGER_CALL_MS, LEDGER_RETRY_PAUSE_MS, QUEUE_CALL_MS, RECORD_RESERVE_MS, SEND_CALL_MS } from '../../lambda/app/time-budget.js';
import { silentLogger } from '../support/pipeline.js';
import { MemoryMetrics } from '../../lambda/app/telemetry.js';

/** A job for `recipients`, received at `now`. */
function jobFor(recipients: readonly string[], now: number) {
  const at = new Date(now).toISOString();
  return {
    version: 2, jobId: 'J', messageId: 'm', receiptTime: at,
    sendBounce: {
      OriginalMessageId: 'm', BounceSender: 'mailer-daemon@example.com', Explanation: 'x',
      MessageDsn: { ReportingMta: 'dns; mx', ArrivalDate: at },
      BouncedRecipientInfoList: recipients.map((r) => ({ Recipient: r, BounceType: 'DoesNotExist', RecipientDsnFields: { FinalRecipient: r, Action: 'failed', RemoteMta: 'dns; mx', Status: '5.1.1', DiagnosticCode: 'smtp; 550', LastAttemptDate: at } })),
    },
  };
}

it('starts the first SendBounce only if it ends inside the attempt window and before the recording reserve, however slow the claim', async () => {
  let now = 1_000_000;
  const spy = jest.spyOn(Date, 'now').mockImplementation(() => now);
  const recipients = ['r0@example.com', 'r1@example.com', 'r2@example.com', 'r3@example.com'];
  const held = (recipient: string): BounceRecord => ({ messageId: 'm', recipient, state: 'SENDING', jobId: 'other', attemptId: 'dead', attemptDeadline: 0, attempts: 0, updatedAt: '', expiresAt: 0 });
  let attempt: Attempt | undefined;
  let sendStart = 0;
  const ledger = {
    claim: async (_m: string, list: readonly string[], a: Attempt) => {
      attempt = a;
      now += 2 * 2_000; // the claim write and its read-back, each at its 2 s bound (DynamoDB slow)
      return new Map(list.map((r) => [r, r === 'r0@example.com' ? { won: true as const } : { won: false as const, record: held(r) }]));
    },
    abandon: async () => {
      now += 2_000; // one more write at its bound, per abandoned recipient, one after another
      return true;
    },
    settle: async () => [],
    release: async () => 0,
  } as unknown as Ledger;
  const job = jobFor(recipients, now);
  const end = now + attemptReserveMs(0); // just enough time for one attempt, as planned
  await deliver(
    { Records: [{ messageId: 'q1', body: JSON.stringify(job), attributes: {} } as unknown as SQSRecord] },
    {
      ledger, logger: silentLogger, metrics: new MemoryMetrics(),
      pacer: { delay: () => 0, wait: async () => undefined, started: () => undefined, answered: () => undefined, backOff: () => undefined },
      sender: { send: async () => { sendStart = now; return { kind: 'unknown', error: 'answer timeout' }; } },
      clock: () => new Date(now),
    },
    () => end - now,
  );
  spy.mockRestore();
  expect(sendStart).toBeGreaterThan(0);
  // No call of the attempt may still be running after its deadline (docs/delivery.md), nor eat the recording reserve.
  expect(sendStart + SEND_CALL_MS).toBeLessThanOrEqual(attempt!.deadline);
  expect(sendStart + SEND_CALL_MS).toBeLessThanOrEqual(end - RECORD_RESERVE_MS);
});

it('records a sent outcome before the invocation ends, however slow DynamoDB: the write and its read-back tried twice, then the job requeued with it', async () => {
  let now = 1_000_000;
  const spy = jest.spyOn(Date, 'now').mockImplementation(() => now);
  let settles = 0;
  let requeuedAt = 0;
  const ledger = {
    claim: async (_m: string, list: readonly string[]) => {
      now += 2 * LEDGER_CALL_MS; // the claim write and its read-back, each at its bound
      return new Map(list.map((r) => [r, { won: true as const }]));
    },
    // The outcome write fails its condition and the read-back times out, each at its bound; then the pause, and again.
    settle: async () => {
      settles += 1;
      now += 2 * LEDGER_CALL_MS + (settles === 2 ? LEDGER_RETRY_PAUSE_MS : 0);
      throw Object.assign(new Error('timed out'), { name: 'TimeoutError' });
    },
    release: async () => 0,
  } as unknown as Ledger;
  const job = jobFor(['r0@example.com'], now);
  const end = now + attemptReserveMs(0); // just enough time for one attempt, as planned
  await deliver(
    { Records: [{ messageId: 'q1', body: JSON.stringify(job), attributes: {} } as unknown as SQSRecord] },
    {
      ledger, logger: silentLogger, metrics: new MemoryMetrics(),
      pacer: { delay: () => 0, wait: async () => undefined, started: () => undefined, answered: () => undefined, backOff: () => undefined },
      sender: { send: async () => { now += SEND_CALL_MS; return { kind: 'sent', bounceMessageId: 'b1' }; } },
      requeue: { enqueue: async () => { now += QUEUE_CALL_MS; requeuedAt = now; } },
      clock: () => new Date(now),
    },
    () => end - now,
  );
  spy.mockRestore();
  expect(settles).toBe(2);
  expect(requeuedAt).toBeGreaterThan(0);
  expect(requeuedAt).toBeLessThanOrEqual(end);
});
