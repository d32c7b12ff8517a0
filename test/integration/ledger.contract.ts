import { randomUUID } from 'node:crypto';
import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { createLedgerTable, DynamoDbLedger, LedgerState, type Ledger } from '../../lambda/aws/ledger.js';
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
const RECEIPT_TIME = new Date(NOW.getTime() - 6_535);

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
      ledger = new DynamoDbLedger(client, tableName);
    }, STARTUP_TIMEOUT_MS);

    afterAll(async () => {
      client?.destroy();
      await engine?.close();
    }, STARTUP_TIMEOUT_MS);

    const claim = (messageId: string, recipients: readonly string[], claimToken = randomUUID()) =>
      ledger.claim({ messageId, recipients, claimToken, receiptTime: RECEIPT_TIME, now: NOW });

    test('of 20 concurrent claims each recipient is won exactly once', async () => {
      const messageId = randomUUID();
      const recipients = ['a@example.com', 'b@example.com', 'c@example.com'];
      const results = await Promise.all(Array.from({ length: 20 }, () => claim(messageId, recipients)));

      const won = results.flatMap((result) => result.claimed).sort();
      expect(won).toEqual(recipients);
      for (const result of results) {
        expect([...result.claimed, ...result.alreadyClaimed].sort()).toEqual(recipients);
      }
      const records = await ledger.get(messageId, recipients);
      expect([...records.values()].map((record) => record.state)).toEqual([
        LedgerState.Queued,
        LedgerState.Queued,
        LedgerState.Queued,
      ]);
    });

    test('a repeated claim wins nothing', async () => {
      const messageId = randomUUID();
      const token = randomUUID();
      expect(await claim(messageId, ['a@example.com'], token)).toEqual({ claimed: ['a@example.com'], alreadyClaimed: [] });
      expect(await claim(messageId, ['a@example.com'], token)).toEqual({ claimed: [], alreadyClaimed: ['a@example.com'] });
    });

    test('two rules claiming overlapping recipients of one message claim each once', async () => {
      const messageId = randomUUID();
      const [ruleA, ruleB] = await Promise.all([
        claim(messageId, ['a@example.com', 'b@example.com']),
        claim(messageId, ['b@example.com', 'c@example.com']),
      ]);
      expect([...ruleA.claimed, ...ruleB.claimed].sort()).toEqual(['a@example.com', 'b@example.com', 'c@example.com']);
      expect(ruleA.claimed).toContain('a@example.com');
      expect(ruleB.claimed).toContain('c@example.com');
      expect([...ruleA.alreadyClaimed, ...ruleB.alreadyClaimed]).toEqual(['b@example.com']);
    });

    test('recipients are lowercased and deduplicated', async () => {
      const messageId = randomUUID();
      const result = await claim(messageId, ['A@X.com', 'a@x.com', 'B@x.COM']);
      expect(result).toEqual({ claimed: ['a@x.com', 'b@x.com'], alreadyClaimed: [] });
      expect(await claim(messageId, ['a@X.COM'])).toEqual({ claimed: [], alreadyClaimed: ['a@x.com'] });

      const records = await ledger.get(messageId, ['A@x.com', 'b@x.com', 'missing@x.com']);
      expect([...records.keys()].sort()).toEqual(['a@x.com', 'b@x.com']);
      expect(records.get('a@x.com')).toMatchObject({ messageId, recipient: 'a@x.com' });
    });

    test('get returns the whole record, strongly consistent, and omits unclaimed recipients', async () => {
      const messageId = randomUUID();
      const token = randomUUID();
      await claim(messageId, ['a@example.com'], token);
      await claim(messageId, ['other-rule@example.com']);

      const records = await ledger.get(messageId, ['a@example.com', 'nobody@example.com']);
      expect([...records.keys()]).toEqual(['a@example.com']);
      expect(records.get('a@example.com')).toEqual({
        messageId,
        recipient: 'a@example.com',
        state: LedgerState.Queued,
        claimToken: token,
        receiptTime: RECEIPT_TIME.toISOString(),
        updatedAt: NOW.toISOString(),
        expiresAt: Math.floor(NOW.getTime() / 1000) + 30 * DAY_SECONDS,
      });
      expect((await ledger.get(messageId, [])).size).toBe(0);
    });

    test('release deletes only its own QUEUED claims, and a released recipient can be claimed again', async () => {
      const messageId = randomUUID();
      const mine = randomUUID();
      const theirs = randomUUID();
      await claim(messageId, ['queued@example.com', 'sent@example.com'], mine);
      await claim(messageId, ['theirs@example.com'], theirs);
      await ledger.transition({
        messageId,
        recipients: ['sent@example.com'],
        from: LedgerState.Queued,
        to: LedgerState.Sent,
        now: NOW,
      });

      await ledger.release(messageId, ['QUEUED@example.com', 'sent@example.com', 'theirs@example.com'], mine);

      const left = await ledger.get(messageId, ['queued@example.com', 'sent@example.com', 'theirs@example.com']);
      expect([...left.keys()].sort()).toEqual(['sent@example.com', 'theirs@example.com']);
      expect(left.get('sent@example.com')?.state).toBe(LedgerState.Sent);
      expect(left.get('theirs@example.com')?.claimToken).toBe(theirs);

      const retry = await claim(messageId, ['queued@example.com', 'theirs@example.com']);
      expect(retry).toEqual({ claimed: ['queued@example.com'], alreadyClaimed: ['theirs@example.com'] });
    });

    test('transition is fenced on the current state and stores the outcome', async () => {
      const messageId = randomUUID();
      await claim(messageId, ['a@example.com', 'b@example.com']);

      const sent = await ledger.transition({
        messageId,
        recipients: ['A@example.com'],
        from: LedgerState.Queued,
        to: LedgerState.Sent,
        now: NOW,
        bounceMessageId: 'bounce-0001',
      });
      expect(sent).toEqual({ updated: ['a@example.com'], conflicted: [] });

      const later = new Date(NOW.getTime() + 1000);
      const longError = `MessageRejected: ${'x'.repeat(2000)}`;
      const unknown = await ledger.transition({
        messageId,
        recipients: ['a@example.com', 'b@example.com', 'never-claimed@example.com'],
        from: LedgerState.Queued,
        to: LedgerState.Unknown,
        now: later,
        error: longError,
      });
      expect(unknown).toEqual({
        updated: ['b@example.com'],
        conflicted: ['a@example.com', 'never-claimed@example.com'],
      });

      const records = await ledger.get(messageId, ['a@example.com', 'b@example.com', 'never-claimed@example.com']);
      expect(records.has('never-claimed@example.com')).toBe(false);
      expect(records.get('a@example.com')).toMatchObject({
        state: LedgerState.Sent,
        bounceMessageId: 'bounce-0001',
        updatedAt: NOW.toISOString(),
      });
      expect(records.get('a@example.com')?.error).toBeUndefined();
      expect(records.get('b@example.com')).toMatchObject({
        state: LedgerState.Unknown,
        error: longError.slice(0, 1000),
        updatedAt: later.toISOString(),
      });
      expect(records.get('b@example.com')?.bounceMessageId).toBeUndefined();
    });

    test('of concurrent transitions from QUEUED exactly one wins', async () => {
      const messageId = randomUUID();
      await claim(messageId, ['a@example.com']);
      const targets = [LedgerState.Sent, LedgerState.Rejected, LedgerState.Expired, LedgerState.Unknown];
      const results = await Promise.all(
        targets.map((to) =>
          ledger.transition({ messageId, recipients: ['a@example.com'], from: LedgerState.Queued, to, now: NOW }),
        ),
      );
      expect(results.filter((result) => result.updated.length === 1)).toHaveLength(1);
      expect(results.filter((result) => result.conflicted.length === 1)).toHaveLength(targets.length - 1);
    });

    test('noteRetry keeps QUEUED, stores the receive count, and leaves finished records alone', async () => {
      const messageId = randomUUID();
      await claim(messageId, ['queued@example.com', 'sent@example.com']);
      await ledger.transition({
        messageId,
        recipients: ['sent@example.com'],
        from: LedgerState.Queued,
        to: LedgerState.Sent,
        now: NOW,
      });
      const later = new Date(NOW.getTime() + 60_000);

      await ledger.noteRetry(messageId, ['queued@example.com', 'sent@example.com', 'never@example.com'], 2, later);

      const records = await ledger.get(messageId, ['queued@example.com', 'sent@example.com', 'never@example.com']);
      expect(records.get('queued@example.com')).toMatchObject({
        state: LedgerState.Queued,
        retryReceiveCount: 2,
        updatedAt: later.toISOString(),
      });
      expect(records.get('sent@example.com')?.retryReceiveCount).toBeUndefined();
      expect(records.get('sent@example.com')?.state).toBe(LedgerState.Sent);
      expect(records.has('never@example.com')).toBe(false);
    });

    test('takeSenderQuota: exactly `limit` of 30 concurrent calls pass, a new hour resets, 0 is unlimited', async () => {
      const sender = `Sender-${randomUUID()}@Example.com`;
      const results = await Promise.all(Array.from({ length: 30 }, () => ledger.takeSenderQuota(sender, NOW, 10)));
      expect(results.filter(Boolean)).toHaveLength(10);
      // Same sender in another case and later in the same hour: still over budget.
      expect(await ledger.takeSenderQuota(sender.toLowerCase(), new Date(THIS_HOUR + HOUR_MS - 1), 10)).toBe(false);

      expect(await ledger.takeSenderQuota(sender, new Date(THIS_HOUR + HOUR_MS), 10)).toBe(true);
      expect(await ledger.takeSenderQuota(sender, NOW, 0)).toBe(true);
      expect(await ledger.takeSenderQuota(`other-${sender}`, NOW, 1)).toBe(true);
      expect(await ledger.takeSenderQuota(`other-${sender}`, NOW, 1)).toBe(false);

      const counter = await client.send(
        new GetItemCommand({
          TableName: tableName,
          Key: { pk: { S: `sender#${sender.toLowerCase()}` }, sk: { S: `hour#${NOW.toISOString().slice(0, 13)}` } },
          ConsistentRead: true,
        }),
      );
      expect(counter.Item?.['count']).toEqual({ N: '10' });
      // End of the hour plus one day.
      expect(counter.Item?.['expiresAt']).toEqual({ N: String((THIS_HOUR + HOUR_MS + DAY_SECONDS * 1000) / 1000) });
    });

    test('bounce items carry the TTL attribute as a number about 30 days ahead', async () => {
      const messageId = randomUUID();
      const now = new Date();
      await ledger.claim({ messageId, recipients: ['a@example.com'], claimToken: 't', receiptTime: now, now });

      const raw = await client.send(
        new GetItemCommand({
          TableName: tableName,
          Key: { pk: { S: `msg#${messageId}` }, sk: { S: 'rcpt#a@example.com' } },
          ConsistentRead: true,
        }),
      );
      const expiresAt = Number(raw.Item?.['expiresAt']?.N);
      const thirtyDays = Date.now() / 1000 + 30 * DAY_SECONDS;
      expect(Math.abs(expiresAt - thirtyDays)).toBeLessThan(60);

      const shortLived = new DynamoDbLedger(client, tableName, { ttlDays: 2 });
      await shortLived.claim({ messageId, recipients: ['b@example.com'], claimToken: 't', receiptTime: now, now });
      expect((await ledger.get(messageId, ['b@example.com'])).get('b@example.com')?.expiresAt).toBe(
        Math.floor(now.getTime() / 1000) + 2 * DAY_SECONDS,
      );
    });

    test('an unreachable endpoint is a LedgerError naming the operation and table, with the cause', async () => {
      const unreachable = localDynamoDbClient('http://127.0.0.1:1', { maxAttempts: 1 });
      const broken = new DynamoDbLedger(unreachable, tableName);
      try {
        const error: unknown = await broken
          .claim({ messageId: 'm', recipients: ['a@example.com'], claimToken: 't', receiptTime: NOW, now: NOW })
          .catch((caught: unknown) => caught);
        expect(error).toBeInstanceOf(LedgerError);
        expect((error as LedgerError).message).toContain('PutItem');
        expect((error as LedgerError).message).toContain(tableName);
        expect((error as LedgerError).cause).toBeInstanceOf(Error);

        await expect(broken.get('m', ['a@example.com'])).rejects.toThrow(LedgerError);
        await expect(broken.takeSenderQuota('s@example.com', NOW, 10)).rejects.toThrow(LedgerError);
      } finally {
        unreachable.destroy();
      }
    });
  });
}
