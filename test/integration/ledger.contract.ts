import { randomUUID } from 'node:crypto';
import { type DynamoDBClient, GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { type Attempt, CancelResult, type Ledger, LedgerState } from '../../lambda/app/ports.js';
import { createLedgerTable, DynamoDbLedger } from '../../lambda/aws/ledger.js';
import { LedgerError } from '../../lambda/core/errors.js';
import { localDynamoDbClient, type LocalDynamoDb } from '../../local/dynamodb.js';

/** Engine start-up (the JVM of DynamoDB Local) is not part of any single test's budget. */
const STARTUP_TIMEOUT_MS = 60_000;
const DAY_SECONDS = 86_400;
const HOUR_MS = 3_600_000;
// Times follow the real clock: DynamoDB Local runs TTL deletion, so an item written with a
// fixed past date would be swept away mid-test and look claimable again.
const THIS_HOUR = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
const NOW = new Date(THIS_HOUR + 9 * 60_000 + 26_535);

/**
 * The ledger's guarantees, run unchanged against every engine (dynalite, DynamoDB Local):
 * anything the receipt and delivery functions rely on is asserted here.
 */
export function describeLedgerContract(engineName: string, start: () => Promise<LocalDynamoDb>): void {
  // One table per engine, hence per test file; the suffix keeps reruns against a shared engine apart.
  const tableName = `ledger-${engineName.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${randomUUID().slice(0, 8)}`;
  describe(`ledger contract on ${engineName}`, () => {
    let engine: LocalDynamoDb;
    let client: DynamoDBClient;
    let ledger: Ledger;

    beforeAll(async () => {
      engine = await start();
      client = localDynamoDbClient(engine.endpoint);
      await createLedgerTable(client, tableName);
      // A JVM warming up can take longer than the deployed call budget; the budget is tested below.
      ledger = new DynamoDbLedger(client, tableName, { callTimeoutMs: 15_000 });
    }, STARTUP_TIMEOUT_MS);

    afterAll(async () => {
      client?.destroy();
      await engine?.close();
    }, STARTUP_TIMEOUT_MS);

    const attemptOf = (jobId: string = randomUUID(), deadline = NOW.getTime() + 30_000): Attempt => ({ id: randomUUID(), jobId, deadline });
    const won = (results: ReadonlyMap<string, { won: boolean }>) => [...results].filter(([, r]) => r.won).map(([recipient]) => recipient).sort();
    const stateOf = async (messageId: string, recipient: string) => (await ledger.get(messageId, [recipient])).get(recipient);

    test('of 20 concurrent attempts each recipient is won exactly once', async () => {
      const messageId = randomUUID();
      const recipients = ['a@example.com', 'b@example.com', 'c@example.com'];
      const attempts = Array.from({ length: 20 }, () => attemptOf());
      const results = await Promise.all(attempts.map((attempt) => ledger.claim(messageId, recipients, attempt, NOW)));
      expect(results.flatMap(won).sort()).toEqual(recipients);
      const records = await ledger.get(messageId, recipients);
      for (const recipient of recipients) {
        const record = records.get(recipient)!;
        expect(record.state).toBe(LedgerState.Sending);
        // The winner is the attempt the record names, and every loser was shown that record.
        const winner = attempts.findIndex((attempt) => attempt.id === record.attemptId);
        expect(results[winner]!.get(recipient)).toEqual({ won: true });
        for (const [i, result] of results.entries()) if (i !== winner) expect(result.get(recipient)).toMatchObject({ won: false, record: { attemptId: record.attemptId } });
      }
    });

    test('a claim whose answer was lost and whose retry fails against itself is recognised as won', async () => {
      const messageId = randomUUID();
      const attempt = attemptOf();
      await ledger.claim(messageId, ['a@example.com'], attempt, NOW);
      // The same write again, as the SDK retries it: its condition now fails against itself.
      expect(won(await ledger.claim(messageId, ['a@example.com'], attempt, NOW))).toEqual(['a@example.com']);
      expect(won(await ledger.claim(messageId, ['a@example.com'], attemptOf(attempt.jobId), NOW))).toEqual([]);
    });

    test('get returns the whole record and omits recipients without one', async () => {
      const messageId = randomUUID();
      const attempt = attemptOf('job-1', 1_234_567);
      await ledger.claim(messageId, ['a@example.com'], attempt, NOW);
      const records = await ledger.get(messageId, ['a@example.com', 'nobody@example.com']);
      expect([...records.keys()]).toEqual(['a@example.com']);
      expect(records.get('a@example.com')).toEqual({
        messageId,
        recipient: 'a@example.com',
        state: LedgerState.Sending,
        jobId: 'job-1',
        attemptId: attempt.id,
        attemptDeadline: 1_234_567,
        attempts: 0,
        updatedAt: NOW.toISOString(),
        expiresAt: Math.floor(NOW.getTime() / 1000) + 30 * DAY_SECONDS,
      });
      expect((await ledger.get(messageId, [])).size).toBe(0);
    });

    test('settle is fenced by the attempt, stores the outcome, and is idempotent for its own attempt', async () => {
      const messageId = randomUUID();
      const mine = attemptOf();
      await ledger.claim(messageId, ['a@example.com', 'b@example.com'], mine, NOW);
      const later = new Date(NOW.getTime() + 1000);
      expect(await ledger.settle(messageId, ['a@example.com'], mine.id, { state: LedgerState.Sent, bounceMessageId: 'bounce-1' }, later)).toEqual([]);
      // Repeated (an SDK retry): no conflict.
      expect(await ledger.settle(messageId, ['a@example.com'], mine.id, { state: LedgerState.Sent, bounceMessageId: 'bounce-1' }, later)).toEqual([]);
      // Another attempt cannot settle what it does not hold.
      expect(await ledger.settle(messageId, ['a@example.com', 'b@example.com'], 'other', { state: LedgerState.Unknown, error: 'x' }, later)).toEqual([
        'a@example.com',
        'b@example.com',
      ]);
      const longError = `MessageRejected: ${'x'.repeat(2000)}`;
      await ledger.settle(messageId, ['b@example.com'], mine.id, { state: LedgerState.Rejected, error: longError }, later);
      expect(await stateOf(messageId, 'a@example.com')).toMatchObject({ state: LedgerState.Sent, bounceMessageId: 'bounce-1', updatedAt: later.toISOString() });
      expect(await stateOf(messageId, 'b@example.com')).toMatchObject({ state: LedgerState.Rejected, error: longError.slice(0, 1000) });
      // A final record is never taken again.
      expect(won(await ledger.claim(messageId, ['a@example.com', 'b@example.com'], attemptOf(), NOW))).toEqual([]);
    });

    test('release gives the recipient back (READY) for the next attempt, counting only when asked', async () => {
      const messageId = randomUUID();
      const jobId = randomUUID();
      const first = attemptOf(jobId);
      await ledger.claim(messageId, ['a@example.com'], first, NOW);
      expect(await ledger.release(messageId, ['a@example.com'], first.id, true, NOW)).toBe(1);
      // Repeated: still 1 (own retry recognised, not counted twice).
      expect(await ledger.release(messageId, ['a@example.com'], first.id, true, NOW)).toBe(1);
      expect(await stateOf(messageId, 'a@example.com')).toMatchObject({ state: LedgerState.Ready, attempts: 1 });
      const second = attemptOf(jobId);
      expect(won(await ledger.claim(messageId, ['a@example.com'], second, NOW))).toEqual(['a@example.com']);
      expect(await ledger.release(messageId, ['a@example.com'], second.id, false, NOW)).toBe(1);
      const third = attemptOf(jobId);
      await ledger.claim(messageId, ['a@example.com'], third, NOW);
      expect(await ledger.release(messageId, ['a@example.com'], third.id, true, NOW)).toBe(2);
      // Releasing what another attempt holds changes nothing.
      const fourth = attemptOf(jobId);
      await ledger.claim(messageId, ['a@example.com'], fourth, NOW);
      expect(await ledger.release(messageId, ['a@example.com'], 'not-mine', true, NOW)).toBe(0);
      expect(await stateOf(messageId, 'a@example.com')).toMatchObject({ state: LedgerState.Sending, attemptId: fourth.id });
    });

    test('abandon turns only the named SENDING attempt UNKNOWN; the attempt can still correct it', async () => {
      const messageId = randomUUID();
      const attempt = attemptOf();
      await ledger.claim(messageId, ['a@example.com'], attempt, NOW);
      expect(await ledger.abandon(messageId, 'a@example.com', 'someone-else', NOW)).toBe(false);
      expect(await ledger.abandon(messageId, 'a@example.com', attempt.id, NOW)).toBe(true);
      expect(await ledger.abandon(messageId, 'a@example.com', attempt.id, NOW)).toBe(false);
      expect(await stateOf(messageId, 'a@example.com')).toMatchObject({ state: LedgerState.Unknown, attemptId: attempt.id });
      // The abandoned attempt was only slow: its true outcome replaces the UNKNOWN.
      await ledger.settle(messageId, ['a@example.com'], attempt.id, { state: LedgerState.Sent, bounceMessageId: 'late' }, NOW);
      expect(await stateOf(messageId, 'a@example.com')).toMatchObject({ state: LedgerState.Sent, bounceMessageId: 'late' });
      expect(won(await ledger.claim(messageId, ['a@example.com'], attemptOf(), NOW))).toEqual([]);
    });

    test('cancel tombstones a job: its own claims then fail, another job may still take the recipients', async () => {
      const messageId = randomUUID();
      expect(await ledger.cancel(messageId, ['a@example.com', 'b@example.com'], 'job-a', NOW)).toBe(CancelResult.Cancelled);
      // Repeated: the tombstones are its own.
      expect(await ledger.cancel(messageId, ['a@example.com', 'b@example.com'], 'job-a', NOW)).toBe(CancelResult.Cancelled);
      const cancelledClaim = await ledger.claim(messageId, ['a@example.com'], attemptOf('job-a'), NOW);
      expect(cancelledClaim.get('a@example.com')).toMatchObject({ won: false, record: { state: LedgerState.Cancelled, jobId: 'job-a' } });
      // A second receipt invocation's job is not cancelled by the first one's tombstones.
      expect(won(await ledger.claim(messageId, ['a@example.com', 'b@example.com'], attemptOf('job-b'), NOW))).toEqual(['a@example.com', 'b@example.com']);
    });

    test('cancel finds a job already on its way (alive), and reports a mixture as such', async () => {
      const messageId = randomUUID();
      await ledger.claim(messageId, ['a@example.com', 'b@example.com'], attemptOf('job-a'), NOW);
      expect(await ledger.cancel(messageId, ['a@example.com', 'b@example.com'], 'job-a', NOW)).toBe(CancelResult.Alive);
      expect(await ledger.cancel(messageId, ['a@example.com', 'c@example.com'], 'job-a', NOW)).toBe(CancelResult.Mixed);
      expect(await ledger.cancel(messageId, ['b@example.com'], 'job-z', NOW)).toBe(CancelResult.Mixed);
    });

    test('expire marks EXPIRED only where the job could still have sent', async () => {
      const messageId = randomUUID();
      const other = attemptOf('job-b');
      await ledger.claim(messageId, ['held@example.com'], other, NOW);
      const jobA = attemptOf('job-a');
      await ledger.claim(messageId, ['ready@example.com'], jobA, NOW);
      await ledger.release(messageId, ['ready@example.com'], jobA.id, false, NOW);
      const results = await ledger.expire(messageId, ['fresh@example.com', 'ready@example.com', 'held@example.com'], 'job-a', NOW);
      expect(won(results)).toEqual(['fresh@example.com', 'ready@example.com']);
      expect(results.get('held@example.com')).toMatchObject({ won: false, record: { state: LedgerState.Sending, jobId: 'job-b' } });
      // Repeated: its own EXPIRED counts as won again (an SDK retry of the same write).
      expect(won(await ledger.expire(messageId, ['fresh@example.com'], 'job-a', NOW))).toEqual(['fresh@example.com']);
      expect(await stateOf(messageId, 'fresh@example.com')).toMatchObject({ state: LedgerState.Expired, jobId: 'job-a' });
    });

    test('two rules claiming overlapping recipients of one message claim each once', async () => {
      const messageId = randomUUID();
      const [ruleA, ruleB] = await Promise.all([
        ledger.claim(messageId, ['a@example.com', 'b@example.com'], attemptOf(), NOW),
        ledger.claim(messageId, ['b@example.com', 'c@example.com'], attemptOf(), NOW),
      ]);
      expect([...won(ruleA), ...won(ruleB)].sort()).toEqual(['a@example.com', 'b@example.com', 'c@example.com']);
    });

    test('takeSenderQuota: exactly `limit` of 30 concurrent messages pass, a message counts once, a new hour resets, 0 is unlimited', async () => {
      const sender = `Sender-${randomUUID()}@Example.com`;
      const messages = Array.from({ length: 30 }, () => randomUUID());
      const results = await Promise.all(messages.map((messageId) => ledger.takeSenderQuota(sender, messageId, NOW, 10)));
      expect(results.filter(Boolean)).toHaveLength(10);
      const counted = messages.filter((_, i) => results[i]);
      // The same message again (a duplicate invocation, an SDK retry) is within budget and counts nothing more.
      expect(await ledger.takeSenderQuota(sender, counted[0]!, NOW, 10)).toBe(true);
      expect(await ledger.takeSenderQuota(sender.toLowerCase(), randomUUID(), new Date(THIS_HOUR + HOUR_MS - 1), 10)).toBe(false);
      expect(await ledger.takeSenderQuota(sender, randomUUID(), new Date(THIS_HOUR + HOUR_MS), 10)).toBe(true);
      expect(await ledger.takeSenderQuota(sender, randomUUID(), NOW, 0)).toBe(true);
      expect(await ledger.takeSenderQuota(`other-${sender}`, randomUUID(), NOW, 1)).toBe(true);
      expect(await ledger.takeSenderQuota(`other-${sender}`, randomUUID(), NOW, 1)).toBe(false);
      const counter = await client.send(
        new GetItemCommand({
          TableName: tableName,
          Key: { pk: { S: `sender#${sender.toLowerCase()}` }, sk: { S: `hour#${NOW.toISOString().slice(0, 13)}` } },
          ConsistentRead: true,
        }),
      );
      expect(counter.Item?.['messages']?.SS).toHaveLength(10);
      expect(counter.Item?.['expiresAt']).toEqual({ N: String((THIS_HOUR + HOUR_MS + DAY_SECONDS * 1000) / 1000) });
    });

    test('bounce items carry the TTL attribute about 30 days ahead, kept across transitions', async () => {
      const messageId = randomUUID();
      const now = new Date();
      const attempt = attemptOf();
      await ledger.claim(messageId, ['a@example.com'], attempt, now);
      const raw = await client.send(
        new GetItemCommand({ TableName: tableName, Key: { pk: { S: `msg#${messageId}` }, sk: { S: 'rcpt#a@example.com' } }, ConsistentRead: true }),
      );
      const expiresAt = Number(raw.Item?.['expiresAt']?.N);
      expect(Math.abs(expiresAt - (Date.now() / 1000 + 30 * DAY_SECONDS))).toBeLessThan(60);
      await ledger.release(messageId, ['a@example.com'], attempt.id, false, new Date(now.getTime() + DAY_SECONDS * 1000));
      await ledger.claim(messageId, ['a@example.com'], attemptOf(), new Date(now.getTime() + DAY_SECONDS * 1000));
      expect((await stateOf(messageId, 'a@example.com'))?.expiresAt).toBe(expiresAt);

      const shortLived = new DynamoDbLedger(client, tableName, { ttlDays: 2 });
      await shortLived.claim(messageId, ['b@example.com'], attemptOf(), now);
      expect((await stateOf(messageId, 'b@example.com'))?.expiresAt).toBe(Math.floor(now.getTime() / 1000) + 2 * DAY_SECONDS);
    });

    test('a malformed item is a LedgerError naming the table, not a wrong answer', async () => {
      const messageId = randomUUID();
      await ledger.claim(messageId, ['a@example.com'], attemptOf(), NOW);
      await client.send(
        new UpdateItemCommand({
          TableName: tableName,
          Key: { pk: { S: `msg#${messageId}` }, sk: { S: 'rcpt#a@example.com' } },
          UpdateExpression: 'SET #state = :bogus',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: { ':bogus': { S: 'BOGUS' } },
        }),
      );
      await expect(ledger.get(messageId, ['a@example.com'])).rejects.toThrow(new RegExp(`malformed ledger item in table ${tableName}`));
    });

    test('an unreachable endpoint is a LedgerError naming the operation and table, with the cause', async () => {
      const unreachable = localDynamoDbClient('http://127.0.0.1:1', { maxAttempts: 1 });
      const broken = new DynamoDbLedger(unreachable, tableName);
      try {
        const error: unknown = await broken.claim('m', ['a@example.com'], attemptOf(), NOW).catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(LedgerError);
        expect((error as LedgerError).message).toMatch(/UpdateItem|Query/);
        expect((error as LedgerError).message).toContain(tableName);
        expect((error as LedgerError).cause).toBeInstanceOf(Error);
        await expect(broken.get('m', ['a@example.com'])).rejects.toThrow(LedgerError);
        await expect(broken.takeSenderQuota('s@example.com', 'm', NOW, 10)).rejects.toThrow(LedgerError);
        await expect(broken.cancel('m', ['a@example.com'], 'job', NOW)).rejects.toThrow(LedgerError);
      } finally {
        unreachable.destroy();
      }
    });

    test('a call that gets no answer is cut off within the call budget', async () => {
      const { createServer } = await import('node:net');
      const silent = createServer(() => undefined); // accepts, never answers
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const port = (silent.address() as { port: number }).port;
      const hanging = localDynamoDbClient(`http://127.0.0.1:${port}`);
      try {
        const started = Date.now();
        await expect(new DynamoDbLedger(hanging, tableName, { callTimeoutMs: 300 }).get('m', ['a@example.com'])).rejects.toThrow(LedgerError);
        expect(Date.now() - started).toBeLessThan(2_000);
      } finally {
        hanging.destroy();
        silent.close();
      }
    });
  });
}
