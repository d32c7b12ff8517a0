// The SQS fake through the real @aws-sdk/client-sqs, with a manual clock.
import {
  ChangeMessageVisibilityBatchCommand,
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import { request as httpRequest } from 'node:http';
import { createManualClock, type ManualClock } from './clock.js';
import { localSqsClient } from './esm.js';
import { DEDUPLICATION_WINDOW_MS, startSqsFake, type SqsFake } from './sqs-fake.js';

const FIFO = 'jobs.fifo';
const DLQ = 'jobs-dlq.fifo';
const STANDARD = 'plain';

let clock: ManualClock;
let fake: SqsFake;
let client: SQSClient;

beforeEach(async () => {
  clock = createManualClock();
  fake = await startSqsFake({
    now: clock.now,
    queues: {
      [DLQ]: {},
      [FIFO]: { visibilityTimeoutMs: 30_000, redrive: { deadLetterName: DLQ, maxReceiveCount: 3 } },
      [STANDARD]: { visibilityTimeoutMs: 10_000 },
    },
  });
  client = localSqsClient(fake.url);
});

afterEach(async () => {
  client.destroy();
  await fake.close();
});

async function failure(promise: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail');
}

/** `dedup` null sends no deduplication id. */
function send(body: string, group = 'g', dedup: string | null = body, queue = FIFO) {
  return client.send(new SendMessageCommand({ QueueUrl: fake.queueUrl(queue), MessageBody: body, MessageGroupId: group, ...(dedup === null ? {} : { MessageDeduplicationId: dedup }) }));
}

async function receive(max = 10, extra: { VisibilityTimeout?: number; queue?: string } = {}): Promise<Message[]> {
  const answer = await client.send(
    new ReceiveMessageCommand({
      QueueUrl: fake.queueUrl(extra.queue ?? FIFO),
      MaxNumberOfMessages: max,
      MessageSystemAttributeNames: ['All'],
      ...(extra.VisibilityTimeout === undefined ? {} : { VisibilityTimeout: extra.VisibilityTimeout }),
    }),
  );
  return answer.Messages ?? [];
}

const bodies = (messages: readonly Message[]) => messages.map((m) => m.Body);

describe('SendMessage', () => {
  test('answers with MessageId, the body MD5 the SDK checks, and a growing SequenceNumber on FIFO', async () => {
    const first = await send('one');
    const second = await send('two');
    expect(first.MessageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(first.MD5OfMessageBody).toBe('f97c5d29941bfb1b2fdab0874906ab82');
    expect(BigInt(second.SequenceNumber!)).toBeGreaterThan(BigInt(first.SequenceNumber!));
    expect(first.SequenceNumber).toHaveLength(20);
  });

  test('a FIFO queue needs MessageGroupId, and a deduplication id unless content-based', async () => {
    const noGroup = await failure(client.send(new SendMessageCommand({ QueueUrl: fake.queueUrl(FIFO), MessageBody: 'x', MessageDeduplicationId: 'd' })));
    expect([noGroup.name, noGroup.message]).toEqual(['MissingParameter', 'The request must contain the parameter MessageGroupId.']);
    const noDedup = await failure(send('x', 'g', null));
    expect(noDedup.name).toBe('InvalidParameterValue');
    expect(noDedup.message).toMatch(/ContentBasedDeduplication/);
    expect(fake.queue(FIFO).messages).toHaveLength(0);

    fake.createQueue('cbd.fifo', { contentBasedDeduplication: true });
    const a = await send('same body', 'g', null, 'cbd.fifo');
    const b = await send('same body', 'g', null, 'cbd.fifo');
    expect(b.MessageId).toBe(a.MessageId);
    expect(fake.queue('cbd.fifo').messages).toHaveLength(1);
  });

  test('a repeated deduplication id within 5 minutes is accepted with the same MessageId but not stored again, even after a delete', async () => {
    const first = await send('job', 'g', 'dedup-1');
    clock.advance(DEDUPLICATION_WINDOW_MS - 1);
    const repeat = await send('job again', 'g', 'dedup-1');
    expect(repeat.MessageId).toBe(first.MessageId);
    expect(fake.queue(FIFO).messages.map((m) => m.body)).toEqual(['job']);

    const [message] = await receive();
    await client.send(new DeleteMessageCommand({ QueueUrl: fake.queueUrl(FIFO), ReceiptHandle: message!.ReceiptHandle! }));
    expect((await send('job', 'g', 'dedup-1')).MessageId).toBe(first.MessageId);
    expect(fake.queue(FIFO).messages).toHaveLength(0);

    clock.advance(1);
    const later = await send('job', 'g', 'dedup-1');
    expect(later.MessageId).not.toBe(first.MessageId);
    expect(fake.queue(FIFO).messages).toHaveLength(1);
  });

  test('a standard queue refuses a deduplication id; per-message delays are FIFO-refused', async () => {
    expect((await failure(send('x', 'g', 'd', STANDARD))).name).toBe('InvalidParameterValue');
    const delayed = await failure(client.send(new SendMessageCommand({ QueueUrl: fake.queueUrl(FIFO), MessageBody: 'x', MessageGroupId: 'g', MessageDeduplicationId: 'd', DelaySeconds: 5 })));
    expect(delayed.message).toMatch(/DelaySeconds is invalid/);
  });

  test('the queue-level delay keeps a message out of reach until it passes', async () => {
    fake.createQueue('slow.fifo', { delayMs: 5_000 });
    await send('later', 'g', 'd', 'slow.fifo');
    expect(await receive(10, { queue: 'slow.fifo' })).toEqual([]);
    expect(fake.queue('slow.fifo').counts()).toEqual({ visible: 0, inFlight: 0, delayed: 1, total: 1 });
    clock.advance(5_000);
    expect(bodies(await receive(10, { queue: 'slow.fifo' }))).toEqual(['later']);
  });

  test('SendMessageBatch reports each entry', async () => {
    const answer = await client.send(
      new SendMessageBatchCommand({
        QueueUrl: fake.queueUrl(FIFO),
        Entries: [
          { Id: 'a', MessageBody: 'one', MessageGroupId: 'g', MessageDeduplicationId: 'one' },
          { Id: 'b', MessageBody: 'two', MessageDeduplicationId: 'two' },
        ],
      }),
    );
    expect(answer.Successful?.map((s) => s.Id)).toEqual(['a']);
    expect(answer.Failed).toEqual([{ Id: 'b', SenderFault: true, Code: 'MissingParameter', Message: 'The request must contain the parameter MessageGroupId.' }]);
  });
});

describe('ReceiveMessage on a FIFO queue', () => {
  test('returns a group in order, as many of one group as possible, groups by their oldest message', async () => {
    await send('a1', 'A');
    await send('b1', 'B');
    await send('a2', 'A');
    await send('a3', 'A');
    expect(bodies(await receive(10))).toEqual(['a1', 'a2', 'a3', 'b1']);
  });

  test('returns nothing of a group while an earlier message of it is in flight', async () => {
    await send('a1', 'A');
    await send('a2', 'A');
    await send('b1', 'B');
    const [a1] = await receive(1);
    expect(a1?.Body).toBe('a1');
    // a2 is next in the queue, but group A is blocked by a1 in flight: only B is served.
    expect(bodies(await receive(10))).toEqual(['b1']);
    expect(await receive(10)).toEqual([]);
    await client.send(new DeleteMessageCommand({ QueueUrl: fake.queueUrl(FIFO), ReceiptHandle: a1!.ReceiptHandle! }));
    expect(bodies(await receive(10))).toEqual(['a2']);
  });

  test('a message comes back after its visibility timeout with a higher receive count', async () => {
    await send('job');
    const [first] = await receive();
    expect(first!.Attributes).toMatchObject({ ApproximateReceiveCount: '1', MessageGroupId: 'g', MessageDeduplicationId: 'job', SentTimestamp: String(clock.now()) });
    const firstReceive = first!.Attributes!.ApproximateFirstReceiveTimestamp;
    clock.advance(29_999);
    expect(await receive()).toEqual([]);
    clock.advance(1);
    const [second] = await receive();
    expect(second!.MessageId).toBe(first!.MessageId);
    expect(second!.ReceiptHandle).not.toBe(first!.ReceiptHandle);
    expect(second!.Attributes).toMatchObject({ ApproximateReceiveCount: '2', ApproximateFirstReceiveTimestamp: firstReceive });
  });

  test('VisibilityTimeout on the receive overrides the queue default; only requested attributes are returned', async () => {
    await send('job');
    const answer = await client.send(new ReceiveMessageCommand({ QueueUrl: fake.queueUrl(FIFO), VisibilityTimeout: 2, MessageSystemAttributeNames: ['ApproximateReceiveCount'] }));
    expect(answer.Messages?.[0]?.Attributes).toEqual({ ApproximateReceiveCount: '1' });
    clock.advance(2_000);
    expect(await receive()).toHaveLength(1);
  });

  test('the older AttributeNames asks for system attributes too', async () => {
    await send('job');
    const answer = await client.send(new ReceiveMessageCommand({ QueueUrl: fake.queueUrl(FIFO), AttributeNames: ['All'] }));
    expect(Object.keys(answer.Messages?.[0]?.Attributes ?? {}).sort()).toEqual([
      'ApproximateFirstReceiveTimestamp',
      'ApproximateReceiveCount',
      'MessageDeduplicationId',
      'MessageGroupId',
      'SenderId',
      'SentTimestamp',
      'SequenceNumber',
    ]);
  });

  test('MaxNumberOfMessages must be 1 to 10', async () => {
    const error = await failure(receive(11));
    expect([error.name, error.message]).toEqual(['InvalidParameterValue', 'Value 11 for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.']);
  });
});

describe('receipt handles', () => {
  test('FIFO: a handle superseded by a later receive fails as expired; the current one deletes', async () => {
    await send('job');
    const [first] = await receive();
    clock.advance(30_000);
    const [second] = await receive();
    const stale = await failure(client.send(new DeleteMessageCommand({ QueueUrl: fake.queueUrl(FIFO), ReceiptHandle: first!.ReceiptHandle! })));
    expect(stale.name).toBe('InvalidParameterValue');
    expect(stale.message).toMatch(/The receipt handle has expired\.$/);
    expect(fake.queue(FIFO).messages).toHaveLength(1);
    await client.send(new DeleteMessageCommand({ QueueUrl: fake.queueUrl(FIFO), ReceiptHandle: second!.ReceiptHandle! }));
    expect(fake.queue(FIFO).messages).toHaveLength(0);
    expect(fake.queue(FIFO).deletedIds).toEqual([second!.MessageId]);
    // Deleting again with the same handle is harmless.
    await client.send(new DeleteMessageCommand({ QueueUrl: fake.queueUrl(FIFO), ReceiptHandle: second!.ReceiptHandle! }));
  });

  test('FIFO: a handle whose visibility timeout passed fails even before anyone received the message again', async () => {
    await send('job');
    const [message] = await receive();
    clock.advance(30_000);
    expect((await failure(client.send(new DeleteMessageCommand({ QueueUrl: fake.queueUrl(FIFO), ReceiptHandle: message!.ReceiptHandle! })))).name).toBe('InvalidParameterValue');
    expect(fake.queue(FIFO).messages).toHaveLength(1);
  });

  test('a handle the queue never issued is ReceiptHandleIsInvalid', async () => {
    const error = await failure(client.send(new DeleteMessageCommand({ QueueUrl: fake.queueUrl(FIFO), ReceiptHandle: 'not-a-handle' })));
    expect(error.name).toBe('ReceiptHandleIsInvalid');
    expect(error.$metadata?.httpStatusCode).toBe(404);
  });

  test('standard queue: an old handle "succeeds" but deletes nothing; the latest deletes even after expiry', async () => {
    await client.send(new SendMessageCommand({ QueueUrl: fake.queueUrl(STANDARD), MessageBody: 'job' }));
    const [first] = await receive(1, { queue: STANDARD });
    clock.advance(10_000);
    const [second] = await receive(1, { queue: STANDARD });
    await client.send(new DeleteMessageCommand({ QueueUrl: fake.queueUrl(STANDARD), ReceiptHandle: first!.ReceiptHandle! }));
    expect(fake.queue(STANDARD).messages).toHaveLength(1);
    clock.advance(10_000);
    await client.send(new DeleteMessageCommand({ QueueUrl: fake.queueUrl(STANDARD), ReceiptHandle: second!.ReceiptHandle! }));
    expect(fake.queue(STANDARD).messages).toHaveLength(0);
  });

  test('DeleteMessageBatch reports each entry', async () => {
    await send('one');
    const [message] = await receive();
    const answer = await client.send(
      new DeleteMessageBatchCommand({
        QueueUrl: fake.queueUrl(FIFO),
        Entries: [
          { Id: 'good', ReceiptHandle: message!.ReceiptHandle! },
          { Id: 'bad', ReceiptHandle: 'bogus' },
        ],
      }),
    );
    expect(answer.Successful).toEqual([{ Id: 'good' }]);
    expect(answer.Failed).toEqual([{ Id: 'bad', SenderFault: true, Code: 'ReceiptHandleIsInvalid', Message: expect.stringContaining('bogus') }]);
  });
});

describe('ChangeMessageVisibility', () => {
  test('0 makes the message visible now and unblocks its group; a longer timeout holds it', async () => {
    await send('a1', 'A');
    await send('a2', 'A');
    const [a1] = await receive(1);
    await client.send(new ChangeMessageVisibilityCommand({ QueueUrl: fake.queueUrl(FIFO), ReceiptHandle: a1!.ReceiptHandle!, VisibilityTimeout: 0 }));
    const again = await receive(1);
    expect(again.map((m) => [m.Body, m.Attributes?.ApproximateReceiveCount])).toEqual([['a1', '2']]);

    await client.send(
      new ChangeMessageVisibilityBatchCommand({ QueueUrl: fake.queueUrl(FIFO), Entries: [{ Id: 'x', ReceiptHandle: again[0]!.ReceiptHandle!, VisibilityTimeout: 120 }] }),
    );
    clock.advance(60_000);
    expect(await receive()).toEqual([]);
    clock.advance(60_000);
    expect(bodies(await receive())).toEqual(['a1', 'a2']);
  });

  test('a message no longer in flight cannot be changed', async () => {
    await client.send(new SendMessageCommand({ QueueUrl: fake.queueUrl(STANDARD), MessageBody: 'job' }));
    const [message] = await receive(1, { queue: STANDARD });
    clock.advance(10_000);
    const error = await failure(client.send(new ChangeMessageVisibilityCommand({ QueueUrl: fake.queueUrl(STANDARD), ReceiptHandle: message!.ReceiptHandle!, VisibilityTimeout: 5 })));
    expect(error.name).toBe('MessageNotInflight');
  });
});

describe('redrive', () => {
  test('a message received maxReceiveCount times moves to the dead-letter queue on the next receive, and its group moves on', async () => {
    await send('poison', 'A');
    await send('next', 'A');
    for (let attempt = 1; attempt <= 3; attempt++) {
      expect(bodies(await receive(1))).toEqual(['poison']);
      clock.advance(30_000);
    }
    const [next] = await receive(1);
    expect(next?.Body).toBe('next');
    const dead = fake.queue(DLQ).messages;
    expect(dead.map((m) => [m.body, m.groupId, m.receiveCount, m.deadLetteredFrom])).toEqual([['poison', 'A', 3, fake.queue(FIFO).arn]]);
    const [fromDlq] = await receive(1, { queue: DLQ });
    expect(fromDlq!.MessageId).toBe(dead[0]!.messageId);
    expect(fromDlq!.Attributes?.DeadLetterQueueSourceArn).toBe(fake.queue(FIFO).arn);
  });

  test('a dead-letter queue must exist first and be of the same kind', () => {
    expect(() => fake.createQueue('orphan.fifo', { redrive: { deadLetterName: 'missing.fifo', maxReceiveCount: 1 } })).toThrow(/must be created before/);
    expect(() => fake.createQueue('mixed.fifo', { redrive: { deadLetterName: STANDARD, maxReceiveCount: 1 } })).toThrow(/must be FIFO/);
  });
});

describe('the rest of the API', () => {
  test('GetQueueAttributes counts visible, in-flight and delayed messages', async () => {
    await send('a1', 'A');
    await send('b1', 'B');
    await send('b2', 'B');
    await receive(1);
    const answer = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: fake.queueUrl(FIFO), AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }),
    );
    expect(answer.Attributes).toEqual({ ApproximateNumberOfMessages: '2', ApproximateNumberOfMessagesNotVisible: '1' });
    const all = await client.send(new GetQueueAttributesCommand({ QueueUrl: fake.queueUrl(FIFO), AttributeNames: ['All'] }));
    expect(all.Attributes).toMatchObject({ FifoQueue: 'true', VisibilityTimeout: '30', RedrivePolicy: JSON.stringify({ deadLetterTargetArn: fake.queue(DLQ).arn, maxReceiveCount: 3 }) });
  });

  test('an unknown queue is QueueDoesNotExist', async () => {
    const error = await failure(client.send(new SendMessageCommand({ QueueUrl: fake.queueUrl('nope.fifo'), MessageBody: 'x', MessageGroupId: 'g', MessageDeduplicationId: 'd' })));
    expect(error.name).toBe('QueueDoesNotExist');
  });

  test('an unknown action is 400 InvalidAction', async () => {
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const request = httpRequest(`${fake.url}/`, { method: 'POST', headers: { 'x-amz-target': 'AmazonSQS.PurgeQueue', 'content-type': 'application/x-amz-json-1.0' } }, (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      });
      request.on('error', reject);
      request.end(JSON.stringify({ QueueUrl: fake.queueUrl(FIFO) }));
    });
    expect(status).toBe(400);
    expect(JSON.parse(body)).toEqual({ __type: 'com.amazonaws.sqs#InvalidAction', message: 'The action PurgeQueue is not valid for this endpoint.' });
  });

  test('every request is recorded', async () => {
    await send('x');
    await receive();
    await failure(receive(0));
    expect(fake.requests.map((r) => [r.action, r.queue, r.status, r.error])).toEqual([
      ['SendMessage', FIFO, 200, undefined],
      ['ReceiveMessage', FIFO, 200, undefined],
      ['ReceiveMessage', FIFO, 400, 'InvalidParameterValue'],
    ]);
  });
});
