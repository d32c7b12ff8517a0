// One poll of a Lambda SQS event source mapping with ReportBatchItemFailures, driven by hand:
// receive a batch over the SQS API, build the event Lambda would build, invoke, and delete what
// Lambda would delete. A chaos test calls it in a loop, interleaving crashes, timeouts and clock
// moves, and then looks at what the queue (and the ledger) ended up with.
//
// What Lambda does, per the AWS Lambda Developer Guide ("Handling errors for an SQS event source
// in Lambda", "Implementing partial batch responses"):
// - the function throws, times out or crashes: the whole batch failed; nothing is deleted and every
//   message becomes visible again when its visibility timeout runs out;
// - it returns batchItemFailures: every message not listed is deleted, the listed ones are left
//   in flight (Lambda does not reset their visibility);
// - an empty or null batchItemFailures list, or an empty or null response: complete success;
// - an itemIdentifier that is null, an empty string, missing (a bad key name) or not a message id
//   of the batch, or an unparseable response: complete failure.
// - a throttled or failed-init invocation never runs the function, yet the receive happened and
//   counted (`phantom`).
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import type { InvokeResult } from './lambda-runner.js';
import type { SqsFake } from './sqs-fake.js';

export interface PollOptions {
  readonly sqs: SqsFake;
  readonly queueName: string;
  /** Records per invocation; at most 10 for a FIFO queue, as Lambda allows. */
  readonly batchSize: number;
  /** Resolves with the function's result, rejects when the function failed (error, crash, timeout). */
  readonly invoke?: (event: SQSEvent) => Promise<unknown>;
  /** Receive the batch but never invoke: a throttled or failed-init invocation, as SQS sees it. */
  readonly phantom?: boolean;
  /** The client to poll with, e.g. one pointed at a fault proxy. @default a client for `sqs.url` */
  readonly client?: SQSClient;
}

export type PollOutcome =
  /** Nothing to receive. */
  | 'empty'
  /** Received, never invoked. */
  | 'phantom'
  /** Every record deleted. */
  | 'success'
  /** Records not listed in batchItemFailures deleted, the listed ones left in flight. */
  | 'partial'
  /** The invocation failed or answered something Lambda treats as a complete failure; nothing deleted. */
  | 'failure';

export interface PollResult {
  readonly outcome: PollOutcome;
  /** The event's records, in the order they were received. */
  readonly records: readonly SQSRecord[];
  /** The function's answer, when it answered. */
  readonly result?: unknown;
  /** The rejection of `invoke`, or why the answer was a complete failure. */
  readonly error?: unknown;
  /** Message ids whose DeleteMessageBatch entry succeeded. */
  readonly deleted: readonly string[];
  /** Message ids left in flight (listed as failed, or the whole batch after a failure). */
  readonly kept: readonly string[];
  /** Deletes SQS refused (e.g. an expired receipt handle after a slow invocation); those messages come back. */
  readonly deleteFailures: readonly { readonly messageId: string; readonly code: string; readonly message: string }[];
}

export async function pollOnce(options: PollOptions): Promise<PollResult> {
  const queue = options.sqs.queue(options.queueName);
  if (!Number.isInteger(options.batchSize) || options.batchSize < 1) throw new RangeError(`batchSize must be a positive integer, got ${options.batchSize}`);
  if (queue.fifo && options.batchSize > 10) throw new RangeError('a FIFO event source mapping takes at most 10 records per batch');
  if (!options.phantom && !options.invoke) throw new Error('pollOnce needs `invoke` unless `phantom` is set');
  const client = options.client ?? localSqsClient(options.sqs.url);
  try {
    const messages = await receiveBatch(client, queue.url, options.batchSize);
    const records = messages.map((message) => toRecord(message, queue.arn, options.sqs.region));
    if (records.length === 0) return { outcome: 'empty', records, deleted: [], kept: [], deleteFailures: [] };
    const allIds = records.map((r) => r.messageId);
    if (options.phantom) return { outcome: 'phantom', records, deleted: [], kept: allIds, deleteFailures: [] };

    let result: unknown;
    try {
      result = await options.invoke!({ Records: records });
    } catch (error) {
      return { outcome: 'failure', records, error, deleted: [], kept: allIds, deleteFailures: [] };
    }
    const verdict = judgeResponse(result, new Set(allIds));
    if (verdict.kind === 'failure') return { outcome: 'failure', records, result, error: verdict.reason, deleted: [], kept: allIds, deleteFailures: [] };
    const toDelete = records.filter((r) => !verdict.failed.has(r.messageId));
    const { deleted, deleteFailures } = await deleteRecords(client, queue.url, toDelete);
    return {
      outcome: verdict.failed.size === 0 ? 'success' : 'partial',
      records,
      result,
      deleted,
      kept: allIds.filter((id) => verdict.failed.has(id)),
      deleteFailures,
    };
  } finally {
    if (!options.client) client.destroy();
  }
}

/** `invoke` for pollOnce from a lambda-runner function: anything but a result is a failed invocation. */
export function invokeThrough(lambda: { invoke(event: unknown): Promise<InvokeResult> }): (event: SQSEvent) => Promise<unknown> {
  return async (event) => {
    const outcome = await lambda.invoke(event);
    if (outcome.ok) return outcome.result;
    throw Object.assign(new Error(`invocation ${outcome.reason}${outcome.error ? `: ${outcome.error}` : ''}`), { reason: outcome.reason });
  };
}

export function localSqsClient(endpoint: string): SQSClient {
  // One attempt: the poller's own retries are not what a chaos test wants to see.
  return new SQSClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
}

type Verdict = { readonly kind: 'ok'; readonly failed: ReadonlySet<string> } | { readonly kind: 'failure'; readonly reason: string };

/** How Lambda reads a function's answer under ReportBatchItemFailures. */
export function judgeResponse(result: unknown, batchIds: ReadonlySet<string>): Verdict {
  if (result === null || result === undefined) return { kind: 'ok', failed: new Set() };
  if (typeof result !== 'object' || Array.isArray(result)) {
    // Not an SQSBatchResponse at all; unsure whether Lambda calls this success or failure, failure is the cautious reading.
    return { kind: 'failure', reason: `the response is not an object: ${JSON.stringify(result)}` };
  }
  const failures = (result as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === null || failures === undefined) return { kind: 'ok', failed: new Set() };
  if (!Array.isArray(failures)) return { kind: 'failure', reason: 'batchItemFailures is not a list' };
  const failed = new Set<string>();
  for (const failure of failures) {
    const id = typeof failure === 'object' && failure !== null ? (failure as { itemIdentifier?: unknown }).itemIdentifier : undefined;
    if (typeof id !== 'string' || id === '') return { kind: 'failure', reason: `invalid itemIdentifier in ${JSON.stringify(failure)}` };
    if (!batchIds.has(id)) return { kind: 'failure', reason: `itemIdentifier ${id} is not a message of the batch` };
    failed.add(id);
  }
  return { kind: 'ok', failed };
}

async function receiveBatch(client: SQSClient, queueUrl: string, batchSize: number): Promise<Message[]> {
  const messages: Message[] = [];
  // A standard queue's mapping may gather more than 10; each ReceiveMessage returns at most 10.
  while (messages.length < batchSize) {
    const answer = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(10, batchSize - messages.length),
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    const got = answer.Messages ?? [];
    messages.push(...got);
    if (got.length === 0) break;
  }
  return messages;
}

function toRecord(message: Message, queueArn: string, region: string): SQSRecord {
  const a = message.Attributes ?? {};
  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: a.ApproximateReceiveCount ?? '1',
      SentTimestamp: a.SentTimestamp ?? '',
      SenderId: a.SenderId ?? '',
      ApproximateFirstReceiveTimestamp: a.ApproximateFirstReceiveTimestamp ?? '',
      ...(a.SequenceNumber ? { SequenceNumber: a.SequenceNumber } : {}),
      ...(a.MessageGroupId ? { MessageGroupId: a.MessageGroupId } : {}),
      ...(a.MessageDeduplicationId ? { MessageDeduplicationId: a.MessageDeduplicationId } : {}),
      ...(a.DeadLetterQueueSourceArn ? { DeadLetterQueueSourceArn: a.DeadLetterQueueSourceArn } : {}),
    },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: region,
  };
}

async function deleteRecords(
  client: SQSClient,
  queueUrl: string,
  records: readonly SQSRecord[],
): Promise<{ deleted: string[]; deleteFailures: { messageId: string; code: string; message: string }[] }> {
  const deleted: string[] = [];
  const deleteFailures: { messageId: string; code: string; message: string }[] = [];
  for (let start = 0; start < records.length; start += 10) {
    const chunk = records.slice(start, start + 10);
    try {
      const answer = await client.send(
        new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: chunk.map((r, i) => ({ Id: String(i), ReceiptHandle: r.receiptHandle })) }),
      );
      for (const ok of answer.Successful ?? []) deleted.push(chunk[Number(ok.Id)]!.messageId);
      for (const failed of answer.Failed ?? []) {
        deleteFailures.push({ messageId: chunk[Number(failed.Id)]!.messageId, code: failed.Code ?? 'Unknown', message: failed.Message ?? '' });
      }
    } catch (error) {
      // The whole call failed (network, throttling): none of these is known to be deleted.
      const e = error as Error;
      for (const record of chunk) deleteFailures.push({ messageId: record.messageId, code: e.name, message: e.message });
    }
  }
  return { deleted, deleteFailures };
}
