import { receive } from '../../lambda/app/receive.js';
import { LedgerState, type Ledger } from '../../lambda/aws/ledger.js';
import type { BounceQueue } from '../../lambda/aws/queue.js';
import { QueueError } from '../../lambda/core/errors.js';
import { policyWith } from '../support/policies.js';
import { recentEvent, startPipeline, type Pipeline } from '../support/pipeline.js';

const BOUNCE_UNKNOWN = `rules:
  - { name: staff, when: { recipient: "alice@example.com" }, then: deliver }
  - { name: unknown, then: bounce, bounceType: DoesNotExist }`;

let pipeline: Pipeline;
beforeEach(async () => {
  pipeline = await startPipeline(policyWith(BOUNCE_UNKNOWN));
});
afterEach(() => pipeline.close());

const messageIdOf = (event: { Records: unknown[] }) => (event.Records[0] as { ses: { mail: { messageId: string } } }).ses.mail.messageId;

describe('receipt → queue → delivery', () => {
  it('bounces an unknown recipient once, with the DSN fields, and records SENT', async () => {
    const event = recentEvent({ recipients: ['ghost@example.com'] });
    expect(await receive(event, pipeline.receiptDeps())).toEqual({ disposition: 'STOP_RULE_SET' });
    await pipeline.drain();
    expect(pipeline.ses.accepted).toHaveLength(1);
    const request = pipeline.ses.accepted[0]!.request;
    expect(request.OriginalMessageId).toBe(messageIdOf(event));
    expect(request.BouncedRecipientInfoList?.[0]?.RecipientDsnFields?.Status).toBe('5.1.1');
    const records = await pipeline.ledger.get(messageIdOf(event), ['ghost@example.com']);
    expect(records.get('ghost@example.com')).toMatchObject({ state: LedgerState.Sent, bounceMessageId: pipeline.ses.accepted[0]!.messageId });
    expect(pipeline.metrics.get('Sent')).toBe(1);
  });

  it('answers CONTINUE and writes nothing when nothing bounces', async () => {
    expect(await receive(recentEvent({ recipients: ['alice@example.com'] }), pipeline.receiptDeps())).toEqual({ disposition: 'CONTINUE' });
    expect(pipeline.queue.sent).toHaveLength(0);
  });

  it('sends one SendBounce for 20 concurrent duplicate invocations, each answering the same disposition', async () => {
    const event = recentEvent({ recipients: ['ghost@example.com', 'phantom@example.com'] });
    const results = await Promise.all(Array.from({ length: 20 }, () => receive(event, pipeline.receiptDeps())));
    expect(new Set(results.map((r) => r.disposition))).toEqual(new Set(['STOP_RULE_SET']));
    expect(pipeline.queue.sent).toHaveLength(1);
    await pipeline.drain();
    expect(pipeline.ses.stats.requests).toBe(1);
    expect(pipeline.ses.accepted[0]!.request.BouncedRecipientInfoList).toHaveLength(2);
    expect(pipeline.metrics.get('ClaimConflict')).toBe(38);
  });

  it('bounces each recipient once when two receipt rules overlap', async () => {
    const event = recentEvent({ recipients: ['a@example.com', 'b@example.com'] });
    const other = structuredClone(event);
    (other.Records[0] as any).ses.receipt.recipients = ['B@example.com', 'c@example.com'];
    await Promise.all([receive(event, pipeline.receiptDeps()), receive(other, pipeline.receiptDeps())]);
    await pipeline.drain();
    const bounced = pipeline.ses.accepted.flatMap((a) => a.request.BouncedRecipientInfoList!.map((r) => r.Recipient!.toLowerCase()));
    expect(bounced.sort()).toEqual(['a@example.com', 'b@example.com', 'c@example.com']);
  });

  it('fails open on an invalid event: CONTINUE, nothing queued, an error counted', async () => {
    expect(await receive({ Records: [{ ses: { mail: {} } }] }, pipeline.receiptDeps())).toEqual({ disposition: 'CONTINUE' });
    expect(pipeline.queue.sent).toHaveLength(0);
    expect(pipeline.metrics.get('Errors')).toBe(1);
  });

  it('in dry-run decides and logs but never writes or queues', async () => {
    const dryRun = await startPipeline(policyWith(`mode: dry-run\n${BOUNCE_UNKNOWN}`));
    try {
      expect(await receive(recentEvent({ recipients: ['ghost@example.com'] }), dryRun.receiptDeps())).toEqual({ disposition: 'CONTINUE' });
      expect(dryRun.queue.sent).toHaveLength(0);
    } finally {
      await dryRun.close();
    }
  });

  it('releases its claims when the enqueue fails, so a retry can bounce', async () => {
    const failing: BounceQueue = { enqueue: () => Promise.reject(new QueueError('SQS is down')) };
    const event = recentEvent({ recipients: ['ghost@example.com'] });
    await expect(receive(event, pipeline.receiptDeps({ queue: failing }))).rejects.toThrow('SQS is down');
    expect((await pipeline.ledger.get(messageIdOf(event), ['ghost@example.com'])).size).toBe(0);
    await receive(event, pipeline.receiptDeps());
    expect(pipeline.queue.sent).toHaveLength(1);
  });

  it('guards senders over their hourly budget: drop, guard sender-rate, claims released', async () => {
    const limited = await startPipeline(policyWith(`guards: { maxBouncesPerSenderPerHour: 2 }\n${BOUNCE_UNKNOWN}`));
    try {
      const results = [];
      for (let i = 0; i < 3; i++) results.push(await receive(recentEvent({ recipients: ['ghost@example.com'] }), limited.receiptDeps()));
      expect(limited.queue.sent).toHaveLength(2);
      expect(limited.metrics.get('Guarded.sender-rate')).toBe(1);
      expect(results[2]).toEqual({ disposition: 'STOP_RULE_SET' });
    } finally {
      await limited.close();
    }
  });
});

describe('delivery outcomes', () => {
  async function queueOne(): Promise<string> {
    const event = recentEvent({ recipients: ['ghost@example.com'] });
    await receive(event, pipeline.receiptDeps());
    return messageIdOf(event);
  }
  const stateOf = async (messageId: string) => (await pipeline.ledger.get(messageId, ['ghost@example.com'])).get('ghost@example.com');

  it('retries a throttled call after backing off, and counts it', async () => {
    const id = await queueOne();
    pipeline.ses.failNext('throttle', 'throttle');
    await pipeline.drain();
    expect(pipeline.ses.stats.requests).toBe(3);
    expect(pipeline.ses.accepted).toHaveLength(1);
    expect(pipeline.metrics.get('Throttled')).toBe(2);
    // Only the scripted throttles: the backed-off, paced retries never tripped the endpoint's own limiter.
    expect(pipeline.ses.stats.throttled).toBe(0);
    expect((await stateOf(id))?.state).toBe(LedgerState.Sent);
  });

  it('retries a 500 answer', async () => {
    const id = await queueOne();
    pipeline.ses.failNext('http500');
    await pipeline.drain();
    expect(pipeline.ses.accepted).toHaveLength(1);
    expect((await stateOf(id))?.state).toBe(LedgerState.Sent);
  });

  it('records REJECTED for MessageRejected and never calls again', async () => {
    const id = await queueOne();
    pipeline.ses.failNext('messageRejected');
    await pipeline.drain();
    expect(pipeline.ses.stats.requests).toBe(1);
    expect(await stateOf(id)).toMatchObject({ state: LedgerState.Rejected, error: expect.stringContaining('MessageRejected') });
    expect(pipeline.metrics.get('Rejected')).toBe(1);
  });

  it('records UNKNOWN for a connection dropped after the request went out, and never sends again', async () => {
    const id = await queueOne();
    pipeline.ses.failNext('dropConnection');
    await pipeline.drain();
    expect(await stateOf(id)).toMatchObject({ state: LedgerState.Unknown });
    expect(pipeline.metrics.get('Unknown')).toBe(1);
    // A duplicate delivery of the same job (SQS is at-least-once) finds it no longer QUEUED.
    const { deliver } = await import('../../lambda/app/deliver.js');
    const duplicate = { messageId: 'dup', body: JSON.stringify(pipeline.queue.sent[0]), attributes: { ApproximateReceiveCount: '1' } } as any;
    expect(await deliver({ Records: [duplicate] }, pipeline.deliverDeps(), () => 60_000)).toEqual({ batchItemFailures: [] });
    expect(pipeline.ses.stats.requests).toBe(1);
  });

  it('hands a job back after exhausting its attempts, noting the retry, and sends it on the next receive', async () => {
    const id = await queueOne();
    pipeline.ses.failNext('http500', 'http500');
    await pipeline.drain(pipeline.deliverDeps({ maxAttempts: 2 }));
    expect(pipeline.ses.accepted).toHaveLength(1);
    expect(pipeline.ses.stats.requests).toBe(3);
    expect((await stateOf(id))?.state).toBe(LedgerState.Sent);
  });

  it('marks UNKNOWN a job received again without a retry note (a crash mid-send), instead of sending it twice', async () => {
    const id = await queueOne();
    const job = pipeline.queue.sent[0]!;
    const { deliver } = await import('../../lambda/app/deliver.js');
    const record = { messageId: 'm1', body: JSON.stringify(job), attributes: { ApproximateReceiveCount: '2' } } as any;
    const response = await deliver({ Records: [record] }, pipeline.deliverDeps(), () => 60_000);
    expect(response.batchItemFailures).toEqual([]);
    expect(pipeline.ses.stats.requests).toBe(0);
    expect((await stateOf(id))?.state).toBe(LedgerState.Unknown);
  });

  it('records EXPIRED instead of sending past the 24 h window', async () => {
    const id = await queueOne();
    const late = new Date(Date.now() + 25 * 3600_000);
    await pipeline.drain(pipeline.deliverDeps({ clock: () => late }));
    expect(pipeline.ses.stats.requests).toBe(0);
    expect((await stateOf(id))?.state).toBe(LedgerState.Expired);
  });

  it('keeps FIFO order: after a job that must be retried, the rest of the batch goes back untouched', async () => {
    await queueOne();
    await queueOne();
    pipeline.ses.failNext('http500');
    const { deliver } = await import('../../lambda/app/deliver.js');
    const records = pipeline.queue.sent.map((job, i) => ({ messageId: `m${i}`, body: JSON.stringify(job), attributes: { ApproximateReceiveCount: '1' } })) as any;
    const response = await deliver({ Records: records }, pipeline.deliverDeps({ maxAttempts: 1 }), () => 60_000);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm0' }, { itemIdentifier: 'm1' }]);
    expect(pipeline.ses.stats.requests).toBe(1);
  });
});

describe('when DynamoDB is unreachable', () => {
  it('the receipt use-case throws (the handler fails open) and queues nothing', async () => {
    const down: Ledger = new (await import('../../lambda/aws/ledger.js')).DynamoDbLedger(
      (await import('../../local/dynamodb.js')).localDynamoDbClient('http://127.0.0.1:1', { maxAttempts: 1 }),
      'bounces',
    );
    await expect(receive(recentEvent({ recipients: ['ghost@example.com'] }), pipeline.receiptDeps({ ledger: down }))).rejects.toThrow();
    expect(pipeline.queue.sent).toHaveLength(0);
  });
});
