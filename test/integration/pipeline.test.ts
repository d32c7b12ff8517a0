// The receipt and delivery use-cases wired to dynalite, the local SES endpoint and the
// in-process FIFO queue: the bounce pipeline's behaviour, one fault at a time. The
// fault-injection suite (test/chaos) drives the deployed handlers through proxies.
import { createServer, type Server } from 'node:net';
import type { SQSRecord } from 'aws-lambda';
import { deliver, PendingNotes } from '../../lambda/app/deliver.js';
import { type BounceQueue, type Ledger, LedgerState } from '../../lambda/app/ports.js';
import { DynamoDbLedger } from '../../lambda/aws/ledger.js';
import { SqsBounceQueue } from '../../lambda/aws/queue.js';
import { DATA_PLANE_CLIENT_CONFIG } from '../../lambda/aws/timeouts.js';
import { jobRecipients, type BounceJob } from '../../lambda/core/job.js';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { localDynamoDbClient } from '../../local/dynamodb.js';
import { SQSClient } from '@aws-sdk/client-sqs';
import { policyWith } from '../support/policies.js';
import { recentEvent, receive, startPipeline, type Pipeline } from '../support/pipeline.js';

const BOUNCE_UNKNOWN = `rules:
  - { name: staff, when: { recipient: "alice@example.com" }, then: deliver }
  - { name: unknown, then: bounce, bounceType: DoesNotExist }`;

let pipeline: Pipeline;
beforeEach(async () => {
  pipeline = await startPipeline(policyWith(BOUNCE_UNKNOWN));
});
afterEach(() => pipeline.close());

const messageIdOf = (event: { Records: unknown[] }) => (event.Records[0] as { ses: { mail: { messageId: string } } }).ses.mail.messageId;
const stateOf = async (messageId: string, recipient = 'ghost@example.com') => (await pipeline.ledger.get(messageId, [recipient])).get(recipient);

/** The pipeline's ledger with some operations replaced. */
function ledgerWith(overrides: Partial<Ledger>): Ledger {
  const real = pipeline.ledger;
  return {
    claim: (...args) => real.claim(...args),
    settle: (...args) => real.settle(...args),
    release: (...args) => real.release(...args),
    abandon: (...args) => real.abandon(...args),
    expire: (...args) => real.expire(...args),
    cancel: (...args) => real.cancel(...args),
    get: (...args) => real.get(...args),
    takeSenderQuota: (...args) => real.takeSenderQuota(...args),
    ...overrides,
  };
}

/** An SQS record carrying `job`, as the event source mapping would hand it over. */
function sqsRecord(job: BounceJob, receiveCount = 1, id = 'm1'): SQSRecord {
  return { messageId: id, body: JSON.stringify(job), attributes: { ApproximateReceiveCount: String(receiveCount) } } as unknown as SQSRecord;
}

describe('receipt → queue → delivery', () => {
  it('bounces an unknown recipient once, with the DSN fields, and records SENT', async () => {
    const event = recentEvent({ recipients: ['ghost@example.com'] });
    expect(await receive(event, pipeline.receiptDeps())).toEqual({ disposition: 'STOP_RULE_SET' });
    await pipeline.drain();
    expect(pipeline.ses.accepted).toHaveLength(1);
    const request = pipeline.ses.accepted[0]!.request;
    expect(request.OriginalMessageId).toBe(messageIdOf(event));
    expect(request.BouncedRecipientInfoList?.[0]?.RecipientDsnFields?.Status).toBe('5.1.1');
    expect(await stateOf(messageIdOf(event))).toMatchObject({ state: LedgerState.Sent, bounceMessageId: pipeline.ses.accepted[0]!.messageId });
    expect(pipeline.metrics.get('Sent')).toBe(1);
  });

  it('answers CONTINUE and makes no DynamoDB or SQS request when nothing bounces', async () => {
    expect(await receive(recentEvent({ recipients: ['alice@example.com'] }), pipeline.receiptDeps())).toEqual({ disposition: 'CONTINUE' });
    expect(pipeline.queue.sent).toHaveLength(0);
  });

  it('decides each spelling of an address once and bounces it once, under its canonical form', async () => {
    const event = recentEvent({ recipients: ['Ghost@Example.com', '<ghost@example.com>', 'ghost@example.com.', 'ghost@bücher.example', 'GHOST@xn--bcher-kva.example'] });
    await receive(event, pipeline.receiptDeps());
    await pipeline.drain();
    const listed = pipeline.ses.accepted.flatMap((accepted) => accepted.request.BouncedRecipientInfoList.map((info) => info.Recipient));
    expect(listed).toEqual(['ghost@example.com', 'ghost@xn--bcher-kva.example']);
    expect(await stateOf(messageIdOf(event), 'ghost@xn--bcher-kva.example')).toMatchObject({ state: LedgerState.Sent });
  });

  it('splits a message with 120 bounced recipients into SendBounce calls of at most 50, each recipient once, and records each SENT', async () => {
    const recipients = Array.from({ length: 120 }, (_, i) => `r${i}@example.com`);
    const event = recentEvent({ recipients });
    expect(await receive(event, pipeline.receiptDeps())).toEqual({ disposition: 'STOP_RULE_SET' });
    expect(pipeline.queue.sent).toHaveLength(1);
    await pipeline.drain();
    expect(pipeline.ses.accepted.map((a) => a.request.BouncedRecipientInfoList.length)).toEqual([50, 50, 20]);
    expect(pipeline.ses.accepted.flatMap((a) => a.request.BouncedRecipientInfoList.map((i) => i.Recipient))).toEqual(recipients);
    const states = await pipeline.ledger.get(messageIdOf(event), recipients);
    expect([...states.values()].every((record) => record.state === LedgerState.Sent)).toBe(true);
    expect(states.size).toBe(120);
  });

  it('bounces the valid recipients of a message whose other recipients SES could not take', async () => {
    const event = recentEvent({ recipients: ['"john doe"@example.com', 'ghost@example.com', 'jöhn@example.com', 'a..b@example.com'] });
    expect(await receive(event, pipeline.receiptDeps())).toEqual({ disposition: 'STOP_RULE_SET' });
    await pipeline.drain();
    expect(pipeline.ses.accepted.map((a) => a.request.BouncedRecipientInfoList.map((i) => i.Recipient))).toEqual([['ghost@example.com']]);
    expect(await stateOf(messageIdOf(event))).toMatchObject({ state: LedgerState.Sent });
    expect(pipeline.metrics.get('Guarded.invalid-recipient')).toBe(3);
  });

  it('sends one SendBounce for 20 concurrent duplicate invocations, each answering the same disposition', async () => {
    const event = recentEvent({ recipients: ['ghost@example.com', 'phantom@example.com'] });
    const results = await Promise.all(Array.from({ length: 20 }, () => receive(event, pipeline.receiptDeps())));
    expect(new Set(results.map((r) => r.disposition))).toEqual(new Set(['STOP_RULE_SET']));
    // Each invocation queued a job of its own; the ledger lets exactly one of them send.
    expect(pipeline.queue.sent).toHaveLength(20);
    await pipeline.drain();
    expect(pipeline.ses.stats.requests).toBe(1);
    expect(pipeline.ses.accepted[0]!.request.BouncedRecipientInfoList).toHaveLength(2);
    expect(pipeline.metrics.get('ClaimConflict')).toBe(38);
    expect(pipeline.queue.deadLetters).toEqual([]);
  });

  it('bounces each recipient once when two receipt rules overlap', async () => {
    const event = recentEvent({ recipients: ['a@example.com', 'b@example.com'] });
    const other = structuredClone(event);
    (other.Records[0] as any).ses.receipt.recipients = ['B@example.com', 'c@example.com'];
    await Promise.all([receive(event, pipeline.receiptDeps()), receive(other, pipeline.receiptDeps())]);
    await pipeline.drain();
    const bounced = pipeline.ses.accepted.flatMap((a) => a.request.BouncedRecipientInfoList.map((r) => r.Recipient));
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

  it('guards senders over their hourly budget: drop, guard sender-rate, nothing queued', async () => {
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

describe('receipt when the queue or the ledger fails', () => {
  it('answers CONTINUE when SQS refuses the job, and tombstones it so that it can never send', async () => {
    let queued: BounceJob | undefined;
    // SQS stored the job and its answer was lost: the worst case for the receipt function.
    const lossy: BounceQueue = {
      enqueue: async (job) => {
        queued = job;
        await pipeline.queue.enqueue(job);
        throw new Error('connection reset');
      },
    };
    const event = recentEvent({ recipients: ['ghost@example.com'] });
    expect(await receive(event, pipeline.receiptDeps({ queue: lossy }))).toEqual({ disposition: 'CONTINUE' });
    expect(await stateOf(messageIdOf(event))).toMatchObject({ state: LedgerState.Cancelled, jobId: queued!.jobId });
    expect(pipeline.metrics.get('NotQueued')).toBe(1);
    await pipeline.drain();
    expect(pipeline.ses.stats.requests).toBe(0);
    // SES's next invocation for the message is not blocked by the tombstone.
    expect(await receive(event, pipeline.receiptDeps())).toEqual({ disposition: 'STOP_RULE_SET' });
    await pipeline.drain();
    expect(pipeline.ses.accepted).toHaveLength(1);
  });

  it('answers STOP_RULE_SET when SQS did not confirm but the job is already being delivered', async () => {
    const event = recentEvent({ recipients: ['ghost@example.com'] });
    const slowAnswer: BounceQueue = {
      enqueue: async (job) => {
        await pipeline.queue.enqueue(job);
        await pipeline.drain(); // the delivery function took the job before the answer came back
        throw new Error('timeout');
      },
    };
    expect(await receive(event, pipeline.receiptDeps({ queue: slowAnswer }))).toEqual({ disposition: 'STOP_RULE_SET' });
    expect(await stateOf(messageIdOf(event))).toMatchObject({ state: LedgerState.Sent });
  });

  it('answers CONTINUE well within its time when SQS accepts the connection and never answers (defect: stranded by a timeout)', async () => {
    const silent: Server = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const sqs = new SQSClient({ ...DATA_PLANE_CLIENT_CONFIG, region: 'eu-west-1', endpoint: `http://127.0.0.1:${(silent.address() as { port: number }).port}`, credentials: { accessKeyId: 'l', secretAccessKey: 'l' } });
    try {
      const event = recentEvent({ recipients: ['ghost@example.com'] });
      const started = Date.now();
      const result = await receive(event, pipeline.receiptDeps({ queue: new SqsBounceQueue(sqs, 'http://sqs.local/000000000000/q.fifo') }), () => 10_000);
      expect(result).toEqual({ disposition: 'CONTINUE' });
      expect(Date.now() - started).toBeLessThan(9_000);
      expect(await stateOf(messageIdOf(event))).toMatchObject({ state: LedgerState.Cancelled });
    } finally {
      sqs.destroy();
      silent.close();
    }
  });

  it('answers CONTINUE and queues nothing when DynamoDB is unreachable for the sender quota', async () => {
    const down = new DynamoDbLedger(localDynamoDbClient('http://127.0.0.1:1', { maxAttempts: 1 }), 'bounces');
    expect(await receive(recentEvent({ recipients: ['ghost@example.com'] }), pipeline.receiptDeps({ ledger: down }))).toEqual({ disposition: 'CONTINUE' });
    expect(pipeline.queue.sent).toHaveLength(0);
  });
});

describe('delivery outcomes', () => {
  async function queueOne(recipients = ['ghost@example.com']): Promise<string> {
    const event = recentEvent({ recipients });
    await receive(event, pipeline.receiptDeps());
    return messageIdOf(event);
  }

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
    // A duplicate delivery of the same job (SQS is at-least-once) finds it settled.
    expect(await deliver({ Records: [sqsRecord(pipeline.queue.sent[0]!)] }, pipeline.deliverDeps(), () => 60_000)).toEqual({ batchItemFailures: [] });
    expect(pipeline.ses.stats.requests).toBe(1);
  });

  it('gives recipients back after an attempt that sent nothing, and sends them on the next receive', async () => {
    const id = await queueOne();
    pipeline.ses.failNext('http500', 'http500');
    await pipeline.drain(pipeline.deliverDeps({ maxSendsPerAttempt: 2 }));
    expect(pipeline.ses.accepted).toHaveLength(1);
    expect(pipeline.ses.stats.requests).toBe(3);
    expect(await stateOf(id)).toMatchObject({ state: LedgerState.Sent, attempts: 1 });
  });

  it('sends a job received again after a receive that never ran (defect: given up though never sent)', async () => {
    const id = await queueOne();
    // SQS counted two receives that no invocation ever saw (a throttled or failed-init function).
    const response = await deliver({ Records: [sqsRecord(pipeline.queue.sent[0]!, 3)] }, pipeline.deliverDeps(), () => 60_000);
    expect(response.batchItemFailures).toEqual([]);
    expect(pipeline.ses.accepted).toHaveLength(1);
    expect((await stateOf(id))?.state).toBe(LedgerState.Sent);
  });

  it('marks UNKNOWN a recipient whose attempt was abandoned mid-send, instead of sending it twice', async () => {
    const id = await queueOne();
    const job = pipeline.queue.sent[0]!;
    // An earlier attempt claimed it and died: its window is long over.
    await pipeline.ledger.claim(id, jobRecipients(job), { id: 'dead-attempt', jobId: job.jobId, deadline: Date.now() - 60_000 }, new Date());
    const response = await deliver({ Records: [sqsRecord(job, 2)] }, pipeline.deliverDeps(), () => 60_000);
    expect(response.batchItemFailures).toEqual([]);
    expect(pipeline.ses.stats.requests).toBe(0);
    expect(await stateOf(id)).toMatchObject({ state: LedgerState.Unknown, attemptId: 'dead-attempt' });
  });

  it('leaves alone, and hands back, a recipient whose attempt is still running elsewhere', async () => {
    const id = await queueOne();
    const job = pipeline.queue.sent[0]!;
    await pipeline.ledger.claim(id, jobRecipients(job), { id: 'live-attempt', jobId: job.jobId, deadline: Date.now() + 60_000 }, new Date());
    const response = await deliver({ Records: [sqsRecord(job, 2)] }, pipeline.deliverDeps(), () => 60_000);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
    expect(pipeline.ses.stats.requests).toBe(0);
    expect(await stateOf(id)).toMatchObject({ state: LedgerState.Sending, attemptId: 'live-attempt' });
  });

  it('hands the job back uncounted when the next call would not fit the attempt (defect: given up inside a backoff)', async () => {
    const id = await queueOne();
    pipeline.ses.failNext('throttle');
    // A pacer whose backoff after the throttle is 8 s: with 27 s left the attempt starts (it
    // needs 26.2), but 8 s of backoff and another 10 s call do not fit its 14.8 s window.
    let backedOff = false;
    const pacer = { wait: async () => undefined, started: () => undefined, answered: () => undefined, backOff: () => void (backedOff = true), delay: () => (backedOff ? 8_000 : 0) };
    const started = Date.now();
    const response = await deliver({ Records: [sqsRecord(pipeline.queue.sent[0]!)] }, pipeline.deliverDeps({ pacer }), () => 27_000 - (Date.now() - started));
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
    expect(pipeline.ses.stats.requests).toBe(1);
    expect(await stateOf(id)).toMatchObject({ state: LedgerState.Ready, attempts: 0 });
    // Next receive: sent.
    await deliver({ Records: [sqsRecord(pipeline.queue.sent[0]!, 2)] }, pipeline.deliverDeps(), () => 60_000);
    expect(await stateOf(id)).toMatchObject({ state: LedgerState.Sent });
  });

  it('does not start an attempt it has no time for, and records nothing', async () => {
    const id = await queueOne();
    const response = await deliver({ Records: [sqsRecord(pipeline.queue.sent[0]!)] }, pipeline.deliverDeps(), () => 5_000);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm1' }]);
    expect(pipeline.ses.stats.requests).toBe(0);
    expect(await stateOf(id)).toBeUndefined();
  });

  it('records EXPIRED instead of sending past the 24 h window', async () => {
    const id = await queueOne();
    const late = new Date(Date.now() + 25 * 3600_000);
    await pipeline.drain(pipeline.deliverDeps({ clock: () => late }));
    expect(pipeline.ses.stats.requests).toBe(0);
    expect((await stateOf(id))?.state).toBe(LedgerState.Expired);
  });

  it('keeps FIFO order: after a job that must go back, the rest of the batch goes back untouched and uncounted', async () => {
    const first = await queueOne();
    const second = await queueOne();
    pipeline.ses.failNext('http500');
    const records = pipeline.queue.sent.map((job, i) => sqsRecord(job, 1, `m${i}`));
    const response = await deliver({ Records: records }, pipeline.deliverDeps({ maxSendsPerAttempt: 1 }), () => 60_000);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm0' }, { itemIdentifier: 'm1' }]);
    expect(pipeline.ses.stats.requests).toBe(1);
    expect(await stateOf(first)).toMatchObject({ state: LedgerState.Ready, attempts: 1 });
    expect(await stateOf(second)).toBeUndefined();
  });

  it('dead-letters a job once its own attempts are spent, never its neighbours (defect: dead-lettered for a neighbour)', async () => {
    const failing = await queueOne(['ghost@example.com']);
    const neighbours = [await queueOne(['n1@example.com']), await queueOne(['n2@example.com'])];
    // The first job's own attempts all fail; each time the neighbours go back with it.
    pipeline.ses.failNext(...Array.from({ length: 5 }, () => 'http500' as const));
    await pipeline.drain(pipeline.deliverDeps({ maxSendsPerAttempt: 1, maxAttempts: 5 }));
    expect(pipeline.queue.deadLetters).toHaveLength(1);
    expect(JSON.parse(pipeline.queue.deadLetters[0]!.body)).toMatchObject({ messageId: failing });
    expect(await stateOf(failing)).toMatchObject({ state: LedgerState.Ready, attempts: 5 });
    for (const id of neighbours) expect(await stateOf(id, id === neighbours[0] ? 'n1@example.com' : 'n2@example.com')).toMatchObject({ state: LedgerState.Sent });
    expect(pipeline.metrics.get('DeadLettered')).toBe(1);
  });

  it('queues an outcome the ledger cannot take with the job, and the next delivery records it (no UNKNOWN)', async () => {
    const id = await queueOne();
    const job = pipeline.queue.sent[0]!;
    const flaky = ledgerWith({ settle: () => Promise.reject(new Error('DynamoDB down')) });
    const response = await deliver({ Records: [sqsRecord(job)] }, pipeline.deliverDeps({ ledger: flaky }), () => 60_000);
    expect(response.batchItemFailures).toEqual([]);
    expect(pipeline.ses.accepted).toHaveLength(1);
    expect(await stateOf(id)).toMatchObject({ state: LedgerState.Sending });
    const requeued = pipeline.queue.sent.at(-1)!;
    expect(requeued.notes).toEqual([expect.objectContaining({ outcome: 'sent', recipients: ['ghost@example.com'] })]);
    await deliver({ Records: [sqsRecord(requeued)] }, pipeline.deliverDeps(), () => 60_000);
    expect(await stateOf(id)).toMatchObject({ state: LedgerState.Sent, bounceMessageId: pipeline.ses.accepted[0]!.messageId });
    expect(pipeline.ses.stats.requests).toBe(1);
    expect(pipeline.metrics.get('Unknown')).toBe(0);
  });

  it('keeps a not-sent outcome in the container when both the ledger and the queue fail, and records it on the next receive', async () => {
    const id = await queueOne();
    const job = pipeline.queue.sent[0]!;
    const flaky = ledgerWith({ release: () => Promise.reject(new Error('DynamoDB down')) });
    const deps = pipeline.deliverDeps({ ledger: flaky, requeue: { enqueue: () => Promise.reject(new Error('SQS down')) }, maxSendsPerAttempt: 1 });
    pipeline.ses.failNext('throttle');
    expect((await deliver({ Records: [sqsRecord(job)] }, deps, () => 60_000)).batchItemFailures).toHaveLength(1);
    expect(await stateOf(id)).toMatchObject({ state: LedgerState.Sending });
    // The faults stop; the same container gets the job again.
    const healed = { ...deps, ledger: pipeline.ledger };
    expect((await deliver({ Records: [sqsRecord(job, 2)] }, healed, () => 60_000)).batchItemFailures).toEqual([]);
    expect(await stateOf(id)).toMatchObject({ state: LedgerState.Sent });
    expect(pipeline.metrics.get('Unknown')).toBe(0);
  });

  it('dead-letters an unreadable job instead of dropping it', async () => {
    const response = await deliver({ Records: [{ messageId: 'x', body: '{"version":1}', attributes: {} } as unknown as SQSRecord] }, pipeline.deliverDeps(), () => 60_000);
    expect(response.batchItemFailures).toEqual([]);
    expect(pipeline.queue.deadLetters).toEqual([{ body: '{"version":1}', reason: expect.stringContaining('unreadable job') }]);
  });
});

/** A DynamoDB client that fails some commands (not sent), or sends them late, after it reported failure. */
function faultyClient(decide: (command: { constructor: { name: string }; input: Record<string, unknown> }) => 'pass' | 'fail' | 'late'): DynamoDBClient {
  const real = pipeline.client;
  return {
    send: (command: never, options: never) => {
      const what = decide(command);
      if (what === 'pass') return real.send(command, options);
      if (what === 'late') {
        // The request left; the client gave up (a timeout); DynamoDB applies it a little later.
        setTimeout(() => void real.send(command).catch(() => undefined), 150);
        return Promise.reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' }));
      }
      return Promise.reject(Object.assign(new Error('We encountered an internal error.'), { name: 'InternalServerError', $metadata: { httpStatusCode: 500 } }));
    },
  } as unknown as DynamoDBClient;
}
const isClaim = (command: { constructor: { name: string }; input: Record<string, unknown> }) =>
  command.constructor.name === 'UpdateItemCommand' && String(command.input['UpdateExpression']).includes(':sending, job = :job');

describe('faults found by review', () => {
  it('a claim that fails on another job\'s tombstone does not drop the job: the bounce still goes out', async () => {
    const event = recentEvent({ recipients: ['ghost@example.com'] });
    // Invocation 1: SQS does not confirm; the receipt tombstones its job and answers CONTINUE.
    expect(await receive(event, pipeline.receiptDeps({ queue: { enqueue: () => Promise.reject(new Error('SQS 500')) }, newJobId: () => 'J1' }))).toEqual({ disposition: 'CONTINUE' });
    // Invocation 2 (a second rule, or SES again): queued, STOP_RULE_SET.
    expect(await receive(event, pipeline.receiptDeps({ newJobId: () => 'J2' }))).toEqual({ disposition: 'STOP_RULE_SET' });
    // J2's claim write fails once (not applied); the read-back shows J1's tombstone.
    let failed = false;
    const client = faultyClient((command) => (isClaim(command) && !failed && (failed = true) ? 'fail' : 'pass'));
    await pipeline.drain(pipeline.deliverDeps({ ledger: new DynamoDbLedger(client, pipeline.tableName) }));
    expect(pipeline.queue.depth).toBe(0);
    expect(pipeline.ses.accepted).toHaveLength(1);
    expect(await stateOf(messageIdOf(event))).toMatchObject({ state: LedgerState.Sent, jobId: 'J2' });
  });

  it('a claim write that lands after its client gave up is released later, not left to become UNKNOWN', async () => {
    const event = recentEvent({ recipients: ['ghost@example.com'] });
    await receive(event, pipeline.receiptDeps());
    let late = false;
    const client = faultyClient((command) => (isClaim(command) && !late && (late = true) ? 'late' : 'pass'));
    const batch = pipeline.queue.receive();
    pipeline.queue.acknowledge(batch, await deliver({ Records: batch }, pipeline.deliverDeps({ ledger: new DynamoDbLedger(client, pipeline.tableName) }), () => 60_000));
    await new Promise((resolve) => setTimeout(resolve, 300)); // the late write lands: SENDING, owned by an attempt that sent nothing
    expect(await stateOf(messageIdOf(event))).toMatchObject({ state: LedgerState.Sending });
    expect(pipeline.ses.stats.requests).toBe(0);
    // The job came back carrying a note that gives the recipient back; the next delivery sends it.
    expect(pipeline.queue.sent.at(-1)!.notes).toEqual([expect.objectContaining({ outcome: 'not-sent', recipients: ['ghost@example.com'] })]);
    await pipeline.drain();
    expect(await stateOf(messageIdOf(event))).toMatchObject({ state: LedgerState.Sent });
    expect(pipeline.metrics.get('Unknown')).toBe(0);
  });

  it('a second job for the same message in one batch does not hand the batch back while the first one records its outcome', async () => {
    const event = recentEvent({ recipients: ['ghost@example.com'] });
    await receive(event, pipeline.receiptDeps());
    await receive(event, pipeline.receiptDeps()); // SES invokes twice
    await receive(recentEvent({ recipients: ['other@example.com'] }), pipeline.receiptDeps());
    const [j1, j2, j3] = pipeline.queue.sent;
    // The outcome write takes 100 ms, behind the next sends.
    const slowSettle = ledgerWith({ settle: async (...args) => (await new Promise((r) => setTimeout(r, 100)), pipeline.ledger.settle(...args)) });
    const response = await deliver({ Records: [sqsRecord(j1!, 1, 'm1'), sqsRecord(j2!, 1, 'm2'), sqsRecord(j3!, 1, 'm3')] }, pipeline.deliverDeps({ ledger: slowSettle }), () => 60_000);
    expect(response.batchItemFailures).toEqual([]);
    expect(pipeline.ses.accepted.map((a) => a.request.BouncedRecipientInfoList.map((i) => i.Recipient))).toEqual([['ghost@example.com'], ['other@example.com']]);
  });

  it('a job whose attempts are spent and that cannot be parked keeps its notes: a recipient never sent does not become UNKNOWN', async () => {
    for (const deadLetters of [undefined, { deadLetter: () => Promise.reject(new Error('SQS 500')) }]) {
      const event = recentEvent({ recipients: ['ghost1@example.com', 'ghost2@example.com'] });
      await receive(event, pipeline.receiptDeps());
      const job = pipeline.queue.sent.at(-1)!;
      // ghost2's claim lands after its client gave up; ghost1's SendBounce fails, the job's last counted attempt.
      let late = false;
      const client = faultyClient((command) => (isClaim(command) && JSON.stringify(command.input['Key']).includes('ghost2') && !late && (late = true) ? 'late' : 'pass'));
      pipeline.ses.failNext('http500');
      await deliver({ Records: [sqsRecord(job)] }, pipeline.deliverDeps({ ledger: new DynamoDbLedger(client, pipeline.tableName), maxSendsPerAttempt: 1, maxAttempts: 1, deadLetters }), () => 60_000);
      await new Promise((resolve) => setTimeout(resolve, 300)); // the late claim lands: SENDING, by an attempt that sent nothing to ghost2
      // The job comes back (carrying its note) to another container, after the attempt's window.
      const later = () => new Date(Date.now() + 6 * 60_000);
      await deliver({ Records: [sqsRecord(pipeline.queue.sent.at(-1)!, 2)] }, pipeline.deliverDeps({ notes: new PendingNotes(), maxAttempts: 5, clock: later }), () => 60_000);
      const ghost2 = (await pipeline.ledger.get(messageIdOf(event), ['ghost2@example.com'])).get('ghost2@example.com');
      expect({ deadLetters: deadLetters === undefined ? 'none' : 'failing', state: ghost2?.state }).not.toEqual({ deadLetters: deadLetters === undefined ? 'none' : 'failing', state: LedgerState.Unknown });
    }
    expect(pipeline.metrics.get('Unknown')).toBe(0);
  });

  it("a job's outcomes that could not be recorded leave in one copy with its other notes: the recipient sent is never taken for abandoned (UNKNOWN)", async () => {
    const event = recentEvent({ recipients: ['ghost1@example.com', 'ghost2@example.com'] });
    await receive(event, pipeline.receiptDeps());
    const queued = pipeline.queue.sent.length;
    // ghost2's claim lands after its client gave up (a not-sent note); ghost1 is sent, and its outcome write fails twice (a sent note).
    let late = false;
    let settleFailures = 0;
    const isSettle = (command: { constructor: { name: string }; input: Record<string, unknown> }) =>
      command.constructor.name === 'UpdateItemCommand' && String(command.input['ConditionExpression']).startsWith('attempt = :attempt') && String(command.input['UpdateExpression']).includes('#state = :to');
    const client = faultyClient((command) =>
      isClaim(command) && JSON.stringify(command.input['Key']).includes('ghost2') && !late && (late = true) ? 'late' : isSettle(command) && settleFailures++ < 2 ? 'fail' : 'pass',
    );
    const batch = pipeline.queue.receive();
    pipeline.queue.acknowledge(batch, await deliver({ Records: batch }, pipeline.deliverDeps({ ledger: new DynamoDbLedger(client, pipeline.tableName), maxSendsPerAttempt: 1 }), () => 60_000));
    expect(settleFailures).toBeGreaterThanOrEqual(2);
    const copies = pipeline.queue.sent.slice(queued);
    expect(copies.map((copy) => (copy.notes ?? []).map((note) => note.outcome).sort())).toEqual([['not-sent', 'sent']]);
    await new Promise((resolve) => setTimeout(resolve, 300)); // the late claim lands
    // The copy comes back to another container, after the attempt's window.
    await pipeline.drain(pipeline.deliverDeps({ notes: new PendingNotes(), clock: () => new Date(Date.now() + 6 * 60_000) }));
    const states = await pipeline.ledger.get(messageIdOf(event), ['ghost1@example.com', 'ghost2@example.com']);
    expect([...states.values()].map((record) => record.state)).toEqual([LedgerState.Sent, LedgerState.Sent]);
    expect(pipeline.metrics.get('Unknown')).toBe(0);
  });

  it('a job sent in several calls whose outcome writes fail once DynamoDB is down leaves in one copy: no recipient of it becomes UNKNOWN', async () => {
    const recipients = Array.from({ length: 60 }, (_, i) => `r${i}@example.com`);
    const event = recentEvent({ recipients });
    await receive(event, pipeline.receiptDeps());
    const queued = pipeline.queue.sent.length;
    let down = false;
    const real = pipeline.client;
    // After the first call is sent, every DynamoDB request times out (slowly).
    const client = {
      send: (command: never, options: never) =>
        down ? new Promise((_, reject) => setTimeout(() => reject(Object.assign(new Error('timeout'), { name: 'TimeoutError' })), 300)) : real.send(command, options),
    } as unknown as DynamoDBClient;
    const sender = pipeline.deliverDeps().sender;
    const batch = pipeline.queue.receive();
    const response = await deliver(
      { Records: batch },
      pipeline.deliverDeps({ ledger: new DynamoDbLedger(client, pipeline.tableName), sender: { send: async (input) => { const outcome = await sender.send(input); down = true; return outcome; } } }),
      () => 60_000,
    );
    pipeline.queue.acknowledge(batch, response);
    expect(pipeline.queue.sent.slice(queued)).toHaveLength(1);
    await pipeline.drain(pipeline.deliverDeps({ notes: new PendingNotes(), clock: () => new Date(Date.now() + 6 * 60_000) }));
    const states = await pipeline.ledger.get(messageIdOf(event), recipients);
    expect([...states.values()].filter((record) => record.state !== LedgerState.Sent)).toEqual([]);
    expect(pipeline.metrics.get('Unknown')).toBe(0);
  });

  it('a job that cannot go on and cannot be parked goes back alone: the jobs after it in the batch are sent, not taken to the redrive with it', async () => {
    for (const [poison, deadLetters] of [['poison-1', undefined], ['poison-2', { deadLetter: () => Promise.reject(new Error('SQS 500')) }]] as const) {
      // An unreadable job first in the one FIFO group, then a good one.
      await pipeline.queue.enqueue({ version: 1, jobId: poison, messageId: 'x', sendBounce: { BouncedRecipientInfoList: [] } } as unknown as BounceJob);
      const event = recentEvent({ recipients: ['ghost@example.com'] });
      expect(await receive(event, pipeline.receiptDeps())).toEqual({ disposition: 'STOP_RULE_SET' });
      await pipeline.drain(pipeline.deliverDeps({ deadLetters }));
      expect(await stateOf(messageIdOf(event))).toMatchObject({ state: LedgerState.Sent });
      // Only the unreadable job reached the queue's redrive.
      expect(pipeline.queue.deadLetters.map((d) => (JSON.parse(d.body) as { jobId: string }).jobId)).toEqual([poison]);
      pipeline.queue.deadLetters.length = 0;
    }
  });

  it('without a dead-letter queue, a job whose own attempts are spent goes back to the queue (its redrive policy parks it), never dropped', async () => {
    const event = recentEvent({ recipients: ['ghost@example.com'] });
    await receive(event, pipeline.receiptDeps());
    pipeline.ses.failNext(...Array.from({ length: 60 }, () => 'http500' as const));
    await pipeline.drain(pipeline.deliverDeps({ deadLetters: undefined, requeue: undefined, maxSendsPerAttempt: 1 }));
    expect(pipeline.queue.deadLetters).toEqual([expect.objectContaining({ reason: expect.stringContaining('redrive policy') })]);
    expect(JSON.parse(pipeline.queue.deadLetters[0]!.body)).toMatchObject({ messageId: messageIdOf(event) });
    expect(await stateOf(messageIdOf(event))).toMatchObject({ state: LedgerState.Ready });
  });

  it('one failed release after a throttle is tried again in the invocation: the next container sends, nothing is UNKNOWN', async () => {
    const event = recentEvent({ recipients: ['ghost@example.com'] });
    await receive(event, pipeline.receiptDeps());
    const job = pipeline.queue.sent[0]!;
    let failed = false;
    const flaky = ledgerWith({ release: (...args) => (!failed && (failed = true) ? Promise.reject(new Error('DynamoDB 500')) : pipeline.ledger.release(...args)) });
    pipeline.ses.failNext('throttle');
    const minimal = { requeue: undefined, deadLetters: undefined, maxSendsPerAttempt: 1 };
    expect((await deliver({ Records: [sqsRecord(job)] }, pipeline.deliverDeps({ ...minimal, ledger: flaky }), () => 60_000)).batchItemFailures).toHaveLength(1);
    // Six minutes later (the visibility timeout) another container takes it.
    await deliver({ Records: [sqsRecord(job)] }, pipeline.deliverDeps({ ...minimal, notes: new PendingNotes(), clock: () => new Date(Date.now() + 6 * 60_000) }), () => 60_000);
    expect(await stateOf(messageIdOf(event))).toMatchObject({ state: LedgerState.Sent });
  });
});
