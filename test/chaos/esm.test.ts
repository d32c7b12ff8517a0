// The event-source-mapping driver against the SQS fake, with a manual clock.
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { fileURLToPath } from 'node:url';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { createManualClock, type ManualClock } from './clock.js';
import { invokeThrough, judgeResponse, localSqsClient, pollOnce } from './esm.js';
import { startLambda } from './lambda-runner.js';
import { startSqsFake, type SqsFake } from './sqs-fake.js';

const QUEUE = 'bounces.fifo';
const DLQ = 'bounces-dlq.fifo';
const VISIBILITY_MS = 60_000;

let clock: ManualClock;
let sqs: SqsFake;
let client: SQSClient;

beforeEach(async () => {
  clock = createManualClock();
  sqs = await startSqsFake({
    now: clock.now,
    region: 'eu-west-1',
    queues: { [DLQ]: {}, [QUEUE]: { visibilityTimeoutMs: VISIBILITY_MS, redrive: { deadLetterName: DLQ, maxReceiveCount: 2 } } },
  });
  client = localSqsClient(sqs.url);
});

afterEach(async () => {
  client.destroy();
  await sqs.close();
});

async function enqueue(...bodies: string[]): Promise<string[]> {
  const ids: string[] = [];
  for (const body of bodies) {
    const answer = await client.send(new SendMessageCommand({ QueueUrl: sqs.queueUrl(QUEUE), MessageBody: body, MessageGroupId: 'ses-bounces', MessageDeduplicationId: `dedup-${body}` }));
    ids.push(answer.MessageId!);
  }
  return ids;
}

const liveBodies = () => sqs.queue(QUEUE).messages.map((m) => m.body);

test('builds the SQS event Lambda builds, and deletes the whole batch on success', async () => {
  const [first] = await enqueue('one', 'two');
  const events: SQSEvent[] = [];
  const outcome = await pollOnce({ sqs, queueName: QUEUE, batchSize: 10, invoke: async (event) => void events.push(event) });
  expect(outcome.outcome).toBe('success');
  expect(outcome.deleted).toHaveLength(2);
  expect(liveBodies()).toEqual([]);
  const record = events[0]!.Records[0]!;
  expect(record).toEqual({
    messageId: first,
    receiptHandle: expect.any(String),
    body: 'one',
    attributes: {
      ApproximateReceiveCount: '1',
      SentTimestamp: String(clock.now()),
      SenderId: expect.any(String),
      ApproximateFirstReceiveTimestamp: String(clock.now()),
      SequenceNumber: expect.stringMatching(/^\d{20}$/),
      MessageGroupId: 'ses-bounces',
      MessageDeduplicationId: 'dedup-one',
    },
    messageAttributes: {},
    md5OfBody: 'f97c5d29941bfb1b2fdab0874906ab82',
    eventSource: 'aws:sqs',
    eventSourceARN: `arn:aws:sqs:eu-west-1:000000000000:${QUEUE}`,
    awsRegion: 'eu-west-1',
  });
});

test('batchItemFailures: the others are deleted, the listed ones stay in flight until the visibility timeout', async () => {
  const ids = await enqueue('a', 'b', 'c');
  const outcome = await pollOnce({
    sqs,
    queueName: QUEUE,
    batchSize: 10,
    invoke: async (): Promise<SQSBatchResponse> => ({ batchItemFailures: [{ itemIdentifier: ids[1]! }, { itemIdentifier: ids[2]! }] }),
  });
  expect(outcome).toMatchObject({ outcome: 'partial', deleted: [ids[0]], kept: [ids[1], ids[2]], deleteFailures: [] });
  expect(sqs.queue(QUEUE).counts()).toMatchObject({ inFlight: 2, visible: 0 });
  expect((await pollOnce({ sqs, queueName: QUEUE, batchSize: 10, invoke: async () => undefined })).outcome).toBe('empty');

  clock.advance(VISIBILITY_MS);
  const seen: string[] = [];
  await pollOnce({ sqs, queueName: QUEUE, batchSize: 10, invoke: async (event) => void seen.push(...event.Records.map((r) => `${r.body}:${r.attributes.ApproximateReceiveCount}`)) });
  expect(seen).toEqual(['b:2', 'c:2']);
});

test('a failed invocation deletes nothing; the batch comes back, in order, after the visibility timeout', async () => {
  await enqueue('a', 'b');
  const outcome = await pollOnce({ sqs, queueName: QUEUE, batchSize: 10, invoke: async () => Promise.reject(new Error('function crashed')) });
  expect(outcome).toMatchObject({ outcome: 'failure', deleted: [], error: expect.objectContaining({ message: 'function crashed' }) });
  expect(outcome.kept).toHaveLength(2);
  expect(liveBodies()).toEqual(['a', 'b']);
  clock.advance(VISIBILITY_MS - 1);
  expect((await pollOnce({ sqs, queueName: QUEUE, batchSize: 10, invoke: async () => undefined })).outcome).toBe('empty');
  clock.advance(1);
  const again = await pollOnce({ sqs, queueName: QUEUE, batchSize: 10, invoke: async () => undefined });
  expect(again.records.map((r) => r.body)).toEqual(['a', 'b']);
  expect(liveBodies()).toEqual([]);
});

test('phantom receives count toward redrive without the function ever running', async () => {
  await enqueue('job');
  for (let attempt = 1; attempt <= 2; attempt++) {
    const outcome = await pollOnce({ sqs, queueName: QUEUE, batchSize: 10, phantom: true });
    expect(outcome.outcome).toBe('phantom');
    expect(outcome.records[0]!.attributes.ApproximateReceiveCount).toBe(String(attempt));
    clock.advance(VISIBILITY_MS);
  }
  let invoked = false;
  const third = await pollOnce({ sqs, queueName: QUEUE, batchSize: 10, invoke: async () => void (invoked = true) });
  expect([third.outcome, invoked]).toEqual(['empty', false]);
  expect(sqs.queue(DLQ).messages.map((m) => m.body)).toEqual(['job']);
});

test('an invalid itemIdentifier makes the whole batch a failure', async () => {
  const ids = await enqueue('a', 'b');
  const outcome = await pollOnce({ sqs, queueName: QUEUE, batchSize: 10, invoke: async () => ({ batchItemFailures: [{ itemIdentifier: 'not-in-batch' }] }) });
  expect(outcome).toMatchObject({ outcome: 'failure', deleted: [], kept: ids, error: expect.stringContaining('not-in-batch') });
  expect(liveBodies()).toEqual(['a', 'b']);
});

test('judgeResponse follows the documented success and failure conditions', () => {
  const ids = new Set(['m1', 'm2']);
  expect(judgeResponse(undefined, ids)).toEqual({ kind: 'ok', failed: new Set() });
  expect(judgeResponse(null, ids)).toEqual({ kind: 'ok', failed: new Set() });
  expect(judgeResponse({}, ids)).toEqual({ kind: 'ok', failed: new Set() });
  expect(judgeResponse({ batchItemFailures: null }, ids)).toEqual({ kind: 'ok', failed: new Set() });
  expect(judgeResponse({ batchItemFailures: [] }, ids)).toEqual({ kind: 'ok', failed: new Set() });
  expect(judgeResponse({ batchItemFailures: [{ itemIdentifier: 'm2' }] }, ids)).toEqual({ kind: 'ok', failed: new Set(['m2']) });
  for (const bad of [{ itemIdentifier: '' }, { itemIdentifier: null }, { messageId: 'm1' }, { itemIdentifier: 'm3' }]) {
    expect(judgeResponse({ batchItemFailures: [bad] }, ids).kind).toBe('failure');
  }
  expect(judgeResponse({ batchItemFailures: 'm1' }, ids).kind).toBe('failure');
  expect(judgeResponse('m1', ids).kind).toBe('failure');
});

test('an invocation that outlives the visibility timeout cannot delete its batch: the messages come back', async () => {
  await enqueue('slow');
  const outcome = await pollOnce({
    sqs,
    queueName: QUEUE,
    batchSize: 10,
    invoke: async () => {
      clock.advance(VISIBILITY_MS + 1);
      return { batchItemFailures: [] };
    },
  });
  expect(outcome.outcome).toBe('success');
  expect(outcome.deleted).toEqual([]);
  expect(outcome.deleteFailures).toEqual([{ messageId: outcome.records[0]!.messageId, code: 'InvalidParameterValue', message: expect.stringContaining('The receipt handle has expired') }]);
  expect(liveBodies()).toEqual(['slow']);
});

test('the batch size caps the records per invocation; FIFO allows at most 10', async () => {
  await enqueue('a', 'b', 'c');
  const outcome = await pollOnce({ sqs, queueName: QUEUE, batchSize: 2, invoke: async () => undefined });
  expect(outcome.records.map((r) => r.body)).toEqual(['a', 'b']);
  await expect(pollOnce({ sqs, queueName: QUEUE, batchSize: 11, invoke: async () => undefined })).rejects.toThrow(/at most 10/);
});

test('with a real handler in a child process: partial failures and a timeout', async () => {
  const lambda = await startLambda({ entry: fileURLToPath(new URL('./fixtures/sqs-handler.ts', import.meta.url)), env: {}, timeoutMs: 500 });
  try {
    const ids = await enqueue('ok', 'fail', 'ok too');
    const first = await pollOnce({ sqs, queueName: QUEUE, batchSize: 10, invoke: invokeThrough(lambda) });
    expect(first).toMatchObject({ outcome: 'partial', deleted: [ids[0], ids[2]], kept: [ids[1]] });

    clock.advance(VISIBILITY_MS);
    await enqueue('block');
    const second = await pollOnce({ sqs, queueName: QUEUE, batchSize: 10, invoke: invokeThrough(lambda) });
    expect(second.records.map((r) => r.body)).toEqual(['fail', 'block']);
    expect(second).toMatchObject({ outcome: 'failure', deleted: [], error: expect.objectContaining({ reason: 'timeout' }) });
    expect(liveBodies()).toEqual(['fail', 'block']);
  } finally {
    await lambda.close();
  }
});
