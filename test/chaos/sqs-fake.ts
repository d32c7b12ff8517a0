// A thin but honest SQS fake over HTTP, speaking the AWS JSON 1.0 protocol that
// @aws-sdk/client-sqs v3 sends (X-Amz-Target: AmazonSQS.<Action>). There is no local SQS
// engine in this project, and the delivery path's correctness hangs on FIFO details: per-group
// ordering, a group blocked while one of its messages is in flight, receive counts, redrive,
// per-receive receipt handles and the 5-minute deduplication window. Those are modelled; the
// rest (long polling, retention, message attributes, permissions) is left out on purpose.
//
// Time comes from an injectable `now()`; visibility and delays are evaluated lazily on each
// request, so a test moves a manual clock instead of sleeping.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { listen } from './upstreams.js';

export const ACCOUNT_ID = '000000000000';
export const DEDUPLICATION_WINDOW_MS = 5 * 60_000;
/** SQS raised its message size limit from 256 KiB to 1 MiB in August 2025. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;
const MAX_VISIBILITY_TIMEOUT_S = 12 * 3600;
const BATCH_ENTRY_ID = /^[A-Za-z0-9_-]{1,80}$/;
/** What real SQS reports as SenderId for an IAM user; the fake has no identities. */
const SENDER_ID = 'AIDAIENQZJOLO23YVJ4VO';

export interface RedrivePolicy {
  readonly deadLetterName: string;
  readonly maxReceiveCount: number;
}

export interface QueueOptions {
  /** @default name ends with `.fifo` */
  readonly fifo?: boolean;
  /** @default 30_000 (SQS's default) */
  readonly visibilityTimeoutMs?: number;
  /** Queue-level DelaySeconds, in ms. @default 0 */
  readonly delayMs?: number;
  /** @default false */
  readonly contentBasedDeduplication?: boolean;
  /** The dead-letter queue must already exist, and be FIFO when this queue is. */
  readonly redrive?: RedrivePolicy;
}

export interface SqsFakeOptions {
  /** Queues to create at start, in order (create a dead-letter queue before the queue that uses it). */
  readonly queues?: Readonly<Record<string, QueueOptions>>;
  /** @default Date.now */
  readonly now?: () => number;
  /** For queue ARNs. @default 'us-east-1' */
  readonly region?: string;
}

export type MessageState = 'delayed' | 'visible' | 'inFlight';

/** A message as the fake stores it; read-only to tests. */
export interface FakeMessage {
  readonly messageId: string;
  readonly body: string;
  readonly md5OfBody: string;
  readonly groupId: string | undefined;
  readonly deduplicationId: string | undefined;
  readonly sequenceNumber: string | undefined;
  readonly sentAt: number;
  readonly receiveCount: number;
  readonly firstReceivedAt: number | undefined;
  /** Before this time the message is delayed (never received) or in flight (received). */
  readonly visibleAt: number;
  /** Set when redrive moved the message here from its source queue. */
  readonly deadLetteredFrom?: string;
}

type StoredMessage = { -readonly [K in keyof FakeMessage]: FakeMessage[K] };

export interface QueueCounts {
  readonly visible: number;
  readonly inFlight: number;
  readonly delayed: number;
  readonly total: number;
}

export interface FakeQueue {
  readonly name: string;
  readonly url: string;
  readonly arn: string;
  readonly fifo: boolean;
  readonly visibilityTimeoutMs: number;
  readonly delayMs: number;
  readonly contentBasedDeduplication: boolean;
  readonly redrive: RedrivePolicy | undefined;
  /** Live (undeleted) messages in send order. */
  readonly messages: readonly FakeMessage[];
  /** Message ids deleted through DeleteMessage(Batch), in order. */
  readonly deletedIds: readonly string[];
  stateOf(message: FakeMessage): MessageState;
  counts(): QueueCounts;
}

export interface FakeRequest {
  readonly action: string;
  readonly queue: string | undefined;
  readonly status: number;
  readonly error?: string;
  readonly at: number;
}

export interface SqsFake {
  readonly url: string;
  readonly region: string;
  readonly accountId: string;
  readonly queues: ReadonlyMap<string, FakeQueue>;
  /** Every request answered, in order, for assertions about what a client did. */
  readonly requests: readonly FakeRequest[];
  queueUrl(name: string): string;
  createQueue(name: string, options?: QueueOptions): FakeQueue;
  queue(name: string): FakeQueue;
  now(): number;
  close(): Promise<void>;
}

/** An SQS error as the JSON protocol answers it. `queryCode` goes into x-amzn-query-error, where the SDK takes the error name from. */
class SqsError extends Error {
  constructor(
    readonly status: number,
    readonly shape: string,
    readonly queryCode: string,
    message: string,
    readonly senderFault = true,
  ) {
    super(message);
  }
}

// Status codes and query codes are those of the SQS Smithy model shipped in @aws-sdk/client-sqs.
const errors = {
  missingParameter: (name: string) => new SqsError(400, 'MissingParameter', 'MissingParameter', `The request must contain the parameter ${name}.`),
  invalidParameter: (message: string) => new SqsError(400, 'InvalidParameterValue', 'InvalidParameterValue', message),
  invalidValue: (value: unknown, parameter: string, reason: string) =>
    new SqsError(400, 'InvalidParameterValue', 'InvalidParameterValue', `Value ${String(value)} for parameter ${parameter} is invalid. Reason: ${reason}`),
  queueDoesNotExist: () => new SqsError(400, 'QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue', 'The specified queue does not exist.'),
  receiptHandleInvalid: (handle: string) =>
    new SqsError(404, 'ReceiptHandleIsInvalid', 'ReceiptHandleIsInvalid', `The input receipt handle "${handle}" is not a valid receipt handle.`),
  // What FIFO queues answer for an expired or superseded handle (see `checkReceipt`).
  receiptHandleExpired: (handle: string) => new SqsError(400, 'InvalidParameterValue', 'InvalidParameterValue', `Value ${handle} for parameter ReceiptHandle is invalid. Reason: The receipt handle has expired.`),
  messageNotInflight: () => new SqsError(400, 'MessageNotInflight', 'AWS.SimpleQueueService.MessageNotInflight', 'The message referred to is not in flight.'),
  invalidAttributeName: (name: string) => new SqsError(400, 'InvalidAttributeName', 'InvalidAttributeName', `Unknown Attribute ${name}.`),
  unsupported: (message: string) => new SqsError(400, 'UnsupportedOperation', 'AWS.SimpleQueueService.UnsupportedOperation', message),
  emptyBatch: () => new SqsError(400, 'EmptyBatchRequest', 'AWS.SimpleQueueService.EmptyBatchRequest', 'There should be at least one entry in the request.'),
  tooManyEntries: (count: number) =>
    new SqsError(400, 'TooManyEntriesInBatchRequest', 'AWS.SimpleQueueService.TooManyEntriesInBatchRequest', `Maximum number of entries per request are 10. You have sent ${count}.`),
  idsNotDistinct: (id: string) => new SqsError(400, 'BatchEntryIdsNotDistinct', 'AWS.SimpleQueueService.BatchEntryIdsNotDistinct', `Id ${id} repeated.`),
  invalidBatchEntryId: () =>
    new SqsError(400, 'InvalidBatchEntryId', 'AWS.SimpleQueueService.InvalidBatchEntryId', 'A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.'),
  invalidAction: (action: string) => new SqsError(400, 'InvalidAction', 'InvalidAction', `The action ${action} is not valid for this endpoint.`),
};

const ALL_SYSTEM_ATTRIBUTES = [
  'SenderId',
  'SentTimestamp',
  'ApproximateReceiveCount',
  'ApproximateFirstReceiveTimestamp',
  'SequenceNumber',
  'MessageDeduplicationId',
  'MessageGroupId',
  'DeadLetterQueueSourceArn',
] as const;

const QUEUE_ATTRIBUTES = [
  'ApproximateNumberOfMessages',
  'ApproximateNumberOfMessagesNotVisible',
  'ApproximateNumberOfMessagesDelayed',
  'VisibilityTimeout',
  'DelaySeconds',
  'FifoQueue',
  'ContentBasedDeduplication',
  'QueueArn',
  'RedrivePolicy',
] as const;

interface Receipt {
  readonly queue: Queue;
  readonly messageId: string;
  /** Which receive of the message issued this handle; only the latest one is current. */
  readonly receiveNumber: number;
}

interface DedupEntry {
  readonly messageId: string;
  readonly sequenceNumber: string | undefined;
  readonly expiresAt: number;
}

class Queue implements FakeQueue {
  readonly fifo: boolean;
  readonly visibilityTimeoutMs: number;
  readonly delayMs: number;
  readonly contentBasedDeduplication: boolean;
  readonly redrive: RedrivePolicy | undefined;
  readonly messages: StoredMessage[] = [];
  readonly deletedIds: string[] = [];
  readonly dedup = new Map<string, DedupEntry>();
  sequence = 0n;

  constructor(
    readonly name: string,
    readonly url: string,
    readonly arn: string,
    options: QueueOptions,
    private readonly now: () => number,
  ) {
    this.fifo = options.fifo ?? name.endsWith('.fifo');
    this.visibilityTimeoutMs = options.visibilityTimeoutMs ?? 30_000;
    this.delayMs = options.delayMs ?? 0;
    this.contentBasedDeduplication = options.contentBasedDeduplication ?? false;
    this.redrive = options.redrive;
  }

  stateOf(message: FakeMessage): MessageState {
    if (this.now() >= message.visibleAt) return 'visible';
    return message.receiveCount === 0 ? 'delayed' : 'inFlight';
  }

  counts(): QueueCounts {
    const counts = { visible: 0, inFlight: 0, delayed: 0, total: this.messages.length };
    for (const message of this.messages) counts[this.stateOf(message)]++;
    return counts;
  }

  nextSequenceNumber(): string {
    this.sequence++;
    // Real sequence numbers are 20-digit strings that grow per message group; one counter per queue keeps them growing.
    return (10n ** 19n + this.sequence).toString();
  }
}

export async function startSqsFake(options: SqsFakeOptions = {}): Promise<SqsFake> {
  const now = options.now ?? Date.now;
  const region = options.region ?? 'us-east-1';
  const queues = new Map<string, Queue>();
  const receipts = new Map<string, Receipt>();
  const requests: FakeRequest[] = [];
  let baseUrl = '';

  const queueUrl = (name: string): string => `${baseUrl}/${ACCOUNT_ID}/${name}`;

  const createQueue = (name: string, queueOptions: QueueOptions = {}): Queue => {
    if (queues.has(name)) throw new Error(`queue ${name} exists already`);
    const fifo = queueOptions.fifo ?? name.endsWith('.fifo');
    if (fifo !== name.endsWith('.fifo')) throw new Error(`a FIFO queue's name must end with .fifo, and only a FIFO queue's: ${name}`);
    if (queueOptions.redrive) {
      const dlq = queues.get(queueOptions.redrive.deadLetterName);
      if (!dlq) throw new Error(`dead-letter queue ${queueOptions.redrive.deadLetterName} must be created before ${name}`);
      if (dlq.fifo !== fifo) throw new Error('the dead-letter queue of a FIFO queue must be FIFO, and of a standard queue standard');
      if (!(queueOptions.redrive.maxReceiveCount >= 1)) throw new Error('maxReceiveCount must be at least 1');
    }
    const queue = new Queue(name, queueUrl(name), `arn:aws:sqs:${region}:${ACCOUNT_ID}:${name}`, queueOptions, now);
    queues.set(name, queue);
    return queue;
  };

  const queueOf = (input: Record<string, unknown>): Queue => {
    const url = input['QueueUrl'];
    if (typeof url !== 'string' || url === '') throw errors.missingParameter('QueueUrl');
    const match = /\/(\d{12})\/([^/?#]+)\/?$/.exec(url);
    const queue = match && match[1] === ACCOUNT_ID ? queues.get(match[2]!) : undefined;
    if (!queue) throw errors.queueDoesNotExist();
    return queue;
  };

  const sendOne = (queue: Queue, input: Record<string, unknown>): Record<string, string> => {
    const body = input['MessageBody'];
    if (typeof body !== 'string' || body === '') throw errors.missingParameter('MessageBody');
    if (Buffer.byteLength(body) > MAX_MESSAGE_BYTES) {
      throw errors.invalidParameter(`One or more parameters are invalid. Reason: Message must be shorter than ${MAX_MESSAGE_BYTES} bytes.`);
    }
    if (input['MessageAttributes'] !== undefined || input['MessageSystemAttributes'] !== undefined) {
      // Honest refusal: the SDK checks MD5OfMessageAttributes, which this fake does not compute.
      throw errors.unsupported('sqs-fake: message attributes are not supported');
    }
    const groupId = optionalString(input, 'MessageGroupId');
    let deduplicationId = optionalString(input, 'MessageDeduplicationId');
    const delaySeconds = input['DelaySeconds'];
    if (delaySeconds !== undefined && (typeof delaySeconds !== 'number' || !Number.isInteger(delaySeconds) || delaySeconds < 0 || delaySeconds > 900)) {
      throw errors.invalidValue(delaySeconds, 'DelaySeconds', 'DelaySeconds must be >= 0 and <= 900.');
    }
    if (queue.fifo) {
      if (groupId === undefined) throw errors.missingParameter('MessageGroupId');
      if (typeof delaySeconds === 'number' && delaySeconds !== 0) {
        // FIFO queues take a delay only at the queue level.
        throw errors.invalidValue(delaySeconds, 'DelaySeconds', 'The request include parameter that is not valid for this queue type.');
      }
      if (deduplicationId === undefined) {
        if (!queue.contentBasedDeduplication) {
          throw errors.invalidParameter('The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly');
        }
        deduplicationId = createHash('sha256').update(body).digest('hex');
      }
    } else if (deduplicationId !== undefined) {
      throw errors.invalidValue(deduplicationId, 'MessageDeduplicationId', 'The request include parameter that is not valid for this queue type.');
    }

    const md5OfBody = md5(body);
    const at = now();
    if (deduplicationId !== undefined) {
      const seen = queue.dedup.get(deduplicationId);
      // Accepted, answered with the first message's id, and not stored again: that is the whole point of the window.
      if (seen && at < seen.expiresAt) return answerForSend(seen.messageId, md5OfBody, seen.sequenceNumber);
    }
    const message: StoredMessage = {
      messageId: randomUUID(),
      body,
      md5OfBody,
      groupId,
      deduplicationId,
      sequenceNumber: queue.fifo ? queue.nextSequenceNumber() : undefined,
      sentAt: at,
      receiveCount: 0,
      firstReceivedAt: undefined,
      visibleAt: at + (queue.fifo ? queue.delayMs : typeof delaySeconds === 'number' ? delaySeconds * 1000 : queue.delayMs),
    };
    queue.messages.push(message);
    if (deduplicationId !== undefined) {
      // The window counts from the first send and outlives a deletion of the message.
      queue.dedup.set(deduplicationId, { messageId: message.messageId, sequenceNumber: message.sequenceNumber, expiresAt: at + DEDUPLICATION_WINDOW_MS });
    }
    return answerForSend(message.messageId, md5OfBody, message.sequenceNumber);
  };

  /** Moves a message whose receives are used up to the dead-letter queue, as SQS does when it would be received once more. */
  const deadLetter = (queue: Queue, message: StoredMessage): void => {
    const dlq = queues.get(queue.redrive!.deadLetterName)!;
    queue.messages.splice(queue.messages.indexOf(message), 1);
    // Id, body, group, dedup id and sent time travel with the message. Unsure: whether SQS keeps or
    // resets ApproximateReceiveCount in the dead-letter queue; the fake keeps it.
    dlq.messages.push({ ...message, visibleAt: now(), deadLetteredFrom: queue.arn, sequenceNumber: dlq.fifo ? dlq.nextSequenceNumber() : undefined });
  };

  /** Takes the message unless redrive claims it first; returns whether it was taken. */
  const usable = (queue: Queue, message: StoredMessage): boolean => {
    if (queue.redrive && message.receiveCount >= queue.redrive.maxReceiveCount) {
      deadLetter(queue, message);
      return false;
    }
    return true;
  };

  const pickForReceive = (queue: Queue, max: number): StoredMessage[] => {
    const at = now();
    const picked: StoredMessage[] = [];
    if (!queue.fifo) {
      for (const message of [...queue.messages]) {
        if (picked.length >= max) break;
        if (at >= message.visibleAt && usable(queue, message)) picked.push(message);
      }
      return picked;
    }
    // FIFO: groups in the order of their oldest message; within a group, in order, stopping at the
    // first message that is not visible: an earlier message in flight (or delayed) blocks the rest
    // of its group. As many messages of one group as possible, as SQS does.
    const groups = new Map<string, StoredMessage[]>();
    for (const message of queue.messages) {
      const group = groups.get(message.groupId!) ?? [];
      group.push(message);
      groups.set(message.groupId!, group);
    }
    for (const group of groups.values()) {
      for (const message of group) {
        if (picked.length >= max) return picked;
        if (at < message.visibleAt) break;
        if (usable(queue, message)) picked.push(message);
      }
    }
    return picked;
  };

  const receive = (input: Record<string, unknown>): object => {
    const queue = queueOf(input);
    const max = input['MaxNumberOfMessages'] ?? 1;
    if (typeof max !== 'number' || !Number.isInteger(max) || max < 1 || max > 10) {
      throw errors.invalidValue(max, 'MaxNumberOfMessages', 'Must be between 1 and 10, if provided.');
    }
    const visibilityS = input['VisibilityTimeout'];
    if (visibilityS !== undefined && !isVisibilitySeconds(visibilityS)) {
      throw errors.invalidValue(visibilityS, 'VisibilityTimeout', `Must be between 0 and ${MAX_VISIBILITY_TIMEOUT_S}, if provided.`);
    }
    const visibilityMs = typeof visibilityS === 'number' ? visibilityS * 1000 : queue.visibilityTimeoutMs;
    const wanted = requestedAttributes(input);
    const at = now();
    const messages = pickForReceive(queue, max).map((message) => {
      message.receiveCount++;
      message.firstReceivedAt ??= at;
      message.visibleAt = at + visibilityMs;
      const handle = newReceiptHandle();
      receipts.set(handle, { queue, messageId: message.messageId, receiveNumber: message.receiveCount });
      return { MessageId: message.messageId, ReceiptHandle: handle, MD5OfBody: message.md5OfBody, Body: message.body, ...attributesFor(message, wanted) };
    });
    return messages.length > 0 ? { Messages: messages } : {};
  };

  /**
   * The live message a receipt handle refers to, when the handle is still good for it.
   *
   * Real SQS, as AWS describes it: a receipt handle belongs to one receive of a message. A handle
   * SQS never issued (or one from another queue) fails with ReceiptHandleIsInvalid. On a FIFO
   * queue a handle whose visibility timeout has passed, or that a later receive superseded,
   * fails with InvalidParameterValue "The receipt handle has expired." (AWS re:Post knowledge
   * center "sqs-receipt-handle-error", and aws-sdk-js issue #1279). On a standard queue the
   * DeleteMessage reference says an old handle "succeeds, but the message might not be deleted";
   * the fake then deletes nothing. A handle of a message already deleted succeeds (deletion is
   * idempotent) and does nothing.
   */
  const checkReceipt = (queue: Queue, handle: unknown): { message: StoredMessage; current: boolean } | 'gone' => {
    if (typeof handle !== 'string' || handle === '') throw errors.missingParameter('ReceiptHandle');
    const receipt = receipts.get(handle);
    if (!receipt || receipt.queue !== queue) throw errors.receiptHandleInvalid(handle);
    const message = queue.messages.find((m) => m.messageId === receipt.messageId);
    if (!message) return 'gone';
    const current = receipt.receiveNumber === message.receiveCount && now() < message.visibleAt;
    if (!current && queue.fifo) throw errors.receiptHandleExpired(handle);
    return { message, current };
  };

  const deleteOne = (queue: Queue, handle: unknown): void => {
    const found = checkReceipt(queue, handle);
    if (found === 'gone') return;
    const receipt = receipts.get(handle as string)!;
    // Standard queue: the latest handle deletes even after its visibility expired; an older one does nothing.
    if (!found.current && receipt.receiveNumber !== found.message.receiveCount) return;
    queue.messages.splice(queue.messages.indexOf(found.message), 1);
    queue.deletedIds.push(found.message.messageId);
  };

  const changeVisibilityOne = (queue: Queue, handle: unknown, seconds: unknown): void => {
    if (seconds === undefined) throw errors.missingParameter('VisibilityTimeout');
    if (!isVisibilitySeconds(seconds)) throw errors.invalidValue(seconds, 'VisibilityTimeout', `Must be between 0 and ${MAX_VISIBILITY_TIMEOUT_S}.`);
    const found = checkReceipt(queue, handle);
    if (found === 'gone') throw errors.receiptHandleInvalid(String(handle));
    if (!found.current) {
      // Standard queue only (FIFO threw above). Unsure what real SQS does with a superseded handle here; refusing is the cautious choice.
      throw errors.messageNotInflight();
    }
    found.message.visibleAt = now() + seconds * 1000;
  };

  const batch = <T>(input: Record<string, unknown>, key: string, each: (entry: Record<string, unknown>) => T) => {
    const entries = input[key];
    if (!Array.isArray(entries) || entries.length === 0) throw errors.emptyBatch();
    if (entries.length > 10) throw errors.tooManyEntries(entries.length);
    const ids = new Set<string>();
    for (const entry of entries as Record<string, unknown>[]) {
      const id = entry['Id'];
      if (typeof id !== 'string' || !BATCH_ENTRY_ID.test(id)) throw errors.invalidBatchEntryId();
      if (ids.has(id)) throw errors.idsNotDistinct(id);
      ids.add(id);
    }
    const Successful: (T & { Id: string })[] = [];
    const Failed: { Id: string; SenderFault: boolean; Code: string; Message: string }[] = [];
    for (const entry of entries as Record<string, unknown>[]) {
      const Id = entry['Id'] as string;
      try {
        Successful.push({ Id, ...each(entry) });
      } catch (error) {
        if (!(error instanceof SqsError)) throw error;
        Failed.push({ Id, SenderFault: error.senderFault, Code: error.queryCode, Message: error.message });
      }
    }
    return { Successful, Failed };
  };

  const getQueueAttributes = (input: Record<string, unknown>): object => {
    const queue = queueOf(input);
    const names = Array.isArray(input['AttributeNames']) ? (input['AttributeNames'] as string[]) : [];
    for (const name of names) if (name !== 'All' && !(QUEUE_ATTRIBUTES as readonly string[]).includes(name)) throw errors.invalidAttributeName(name);
    const wanted = names.includes('All') ? [...QUEUE_ATTRIBUTES] : names;
    const counts = queue.counts();
    const all: Record<string, string | undefined> = {
      ApproximateNumberOfMessages: String(counts.visible),
      ApproximateNumberOfMessagesNotVisible: String(counts.inFlight),
      ApproximateNumberOfMessagesDelayed: String(counts.delayed),
      VisibilityTimeout: String(Math.round(queue.visibilityTimeoutMs / 1000)),
      DelaySeconds: String(Math.round(queue.delayMs / 1000)),
      FifoQueue: queue.fifo ? 'true' : undefined,
      ContentBasedDeduplication: queue.fifo ? String(queue.contentBasedDeduplication) : undefined,
      QueueArn: queue.arn,
      RedrivePolicy: queue.redrive
        ? JSON.stringify({ deadLetterTargetArn: queues.get(queue.redrive.deadLetterName)!.arn, maxReceiveCount: queue.redrive.maxReceiveCount })
        : undefined,
    };
    const Attributes: Record<string, string> = {};
    for (const name of wanted) if (all[name] !== undefined) Attributes[name] = all[name];
    return Object.keys(Attributes).length > 0 ? { Attributes } : {};
  };

  const act = (action: string, input: Record<string, unknown>): object => {
    switch (action) {
      case 'SendMessage':
        return sendOne(queueOf(input), input);
      case 'SendMessageBatch': {
        const queue = queueOf(input);
        return batch(input, 'Entries', (entry) => sendOne(queue, entry));
      }
      case 'ReceiveMessage':
        return receive(input);
      case 'DeleteMessage':
        deleteOne(queueOf(input), input['ReceiptHandle']);
        return {};
      case 'DeleteMessageBatch': {
        const queue = queueOf(input);
        return batch(input, 'Entries', (entry) => {
          deleteOne(queue, entry['ReceiptHandle']);
          return {};
        });
      }
      case 'ChangeMessageVisibility':
        changeVisibilityOne(queueOf(input), input['ReceiptHandle'], input['VisibilityTimeout']);
        return {};
      case 'ChangeMessageVisibilityBatch': {
        const queue = queueOf(input);
        return batch(input, 'Entries', (entry) => {
          changeVisibilityOne(queue, entry['ReceiptHandle'], entry['VisibilityTimeout']);
          return {};
        });
      }
      case 'GetQueueAttributes':
        return getQueueAttributes(input);
      case 'GetQueueUrl': {
        const name = input['QueueName'];
        if (typeof name !== 'string' || !queues.has(name)) throw errors.queueDoesNotExist();
        return { QueueUrl: queueUrl(name) };
      }
      default:
        throw errors.invalidAction(action);
    }
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const text = await readText(request);
    const target = String(request.headers['x-amz-target'] ?? '');
    const action = target.startsWith('AmazonSQS.') ? target.slice('AmazonSQS.'.length) : target || 'NoAction';
    const requestId = randomUUID();
    let status = 200;
    let payload: object;
    let errorCode: string | undefined;
    let queueName: string | undefined;
    try {
      let input: unknown;
      try {
        input = text === '' ? {} : JSON.parse(text);
      } catch {
        throw new SqsError(400, 'SerializationException', 'SerializationException', 'The request body is not valid JSON.');
      }
      if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new SqsError(400, 'SerializationException', 'SerializationException', 'The request body must be a JSON object.');
      const record = input as Record<string, unknown>;
      queueName = typeof record['QueueUrl'] === 'string' ? record['QueueUrl'].split('/').pop() : undefined;
      payload = act(action, record);
    } catch (error) {
      if (!(error instanceof SqsError)) throw error;
      status = error.status;
      errorCode = error.queryCode;
      payload = { __type: `com.amazonaws.sqs#${error.shape}`, message: error.message };
      response.setHeader('x-amzn-query-error', `${error.queryCode};${error.senderFault ? 'Sender' : 'Receiver'}`);
    }
    requests.push({ action, queue: queueName, status, ...(errorCode ? { error: errorCode } : {}), at: now() });
    const json = JSON.stringify(payload);
    response.writeHead(status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': requestId, 'content-length': Buffer.byteLength(json) });
    response.end(json);
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      // A bug in the fake, not an SQS answer: say so loudly instead of hanging the client.
      const json = JSON.stringify({ __type: 'com.amazonaws.sqs#InternalError', message: `sqs-fake bug: ${(error as Error).message}` });
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-query-error': 'InternalError;Receiver' });
      response.end(json);
    });
  });
  const listening = await listen(server);
  baseUrl = listening.url;
  for (const [name, queueOptions] of Object.entries(options.queues ?? {})) createQueue(name, queueOptions);

  return {
    url: baseUrl,
    region,
    accountId: ACCOUNT_ID,
    queues,
    requests,
    queueUrl,
    createQueue,
    queue: (name) => {
      const queue = queues.get(name);
      if (!queue) throw new Error(`no queue ${name}`);
      return queue;
    },
    now,
    close: () => listening.close(),
  };
}

function answerForSend(messageId: string, md5OfBody: string, sequenceNumber: string | undefined): Record<string, string> {
  return { MessageId: messageId, MD5OfMessageBody: md5OfBody, ...(sequenceNumber ? { SequenceNumber: sequenceNumber } : {}) };
}

function optionalString(input: Record<string, unknown>, key: string): string | undefined {
  const value = input[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value === '' || value.length > 128) throw errors.invalidValue(value, key, `${key} must be 1 to 128 characters.`);
  return value;
}

function isVisibilitySeconds(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_VISIBILITY_TIMEOUT_S;
}

/** Both the old AttributeNames and the newer MessageSystemAttributeNames ask for system attributes. */
function requestedAttributes(input: Record<string, unknown>): Set<string> {
  const names = new Set<string>();
  for (const key of ['AttributeNames', 'MessageSystemAttributeNames']) {
    const list = input[key];
    if (Array.isArray(list)) for (const name of list) if (typeof name === 'string') names.add(name);
  }
  return names.has('All') ? new Set(ALL_SYSTEM_ATTRIBUTES) : names;
}

function attributesFor(message: StoredMessage, wanted: Set<string>): { Attributes?: Record<string, string> } {
  const all: Record<string, string | undefined> = {
    SenderId: SENDER_ID,
    SentTimestamp: String(message.sentAt),
    ApproximateReceiveCount: String(message.receiveCount),
    ApproximateFirstReceiveTimestamp: message.firstReceivedAt === undefined ? undefined : String(message.firstReceivedAt),
    SequenceNumber: message.sequenceNumber,
    MessageDeduplicationId: message.deduplicationId,
    MessageGroupId: message.groupId,
    DeadLetterQueueSourceArn: message.deadLetteredFrom,
  };
  const Attributes: Record<string, string> = {};
  for (const name of wanted) if (all[name] !== undefined) Attributes[name] = all[name];
  return Object.keys(Attributes).length > 0 ? { Attributes } : {};
}

function newReceiptHandle(): string {
  // Opaque and unguessable, like SQS's; the fake keeps the meaning in a map.
  return randomBytes(48).toString('base64');
}

function md5(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

async function readText(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}
