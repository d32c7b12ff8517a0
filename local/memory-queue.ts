import { randomUUID } from 'node:crypto';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { BOUNCE_MESSAGE_GROUP, deduplicationId, type BounceQueue } from '../lambda/aws/queue.js';
import type { BounceJob } from '../lambda/core/job.js';

/** SQS FIFO's deduplication window. */
const DEDUPLICATION_WINDOW_MS = 5 * 60_000;

interface QueuedMessage {
  readonly messageId: string;
  readonly body: string;
  readonly deduplicationId: string;
  receiveCount: number;
}

export interface MemoryFifoQueueOptions {
  /** Receives before a message moves to the dead-letter list. @default 5 */
  readonly maxReceiveCount?: number;
  /** @default 10, the event source mapping's batch size */
  readonly batchSize?: number;
}

/**
 * An in-process stand-in for the SQS FIFO queue (no local engine exists for SQS): one message
 * group, content deduplication within five minutes, batches with ApproximateReceiveCount,
 * partial batch responses with redelivery in order, and a dead-letter list. Just what the
 * delivery function relies on, nothing more.
 */
export class MemoryFifoQueue implements BounceQueue {
  readonly sent: BounceJob[] = [];
  readonly deadLetters: QueuedMessage[] = [];
  private readonly messages: QueuedMessage[] = [];
  private readonly seen = new Map<string, number>();
  private readonly maxReceiveCount: number;
  private readonly batchSize: number;

  constructor(
    options: MemoryFifoQueueOptions = {},
    private readonly clock: () => number = Date.now,
  ) {
    this.maxReceiveCount = options.maxReceiveCount ?? 5;
    this.batchSize = options.batchSize ?? 10;
  }

  get depth(): number {
    return this.messages.length;
  }

  async enqueue(job: BounceJob): Promise<void> {
    const id = deduplicationId(job);
    const seenAt = this.seen.get(id);
    if (seenAt !== undefined && this.clock() - seenAt < DEDUPLICATION_WINDOW_MS) return;
    this.seen.set(id, this.clock());
    this.sent.push(job);
    this.messages.push({ messageId: randomUUID(), body: JSON.stringify(job), deduplicationId: id, receiveCount: 0 });
  }

  /** Hands batches to `handler` until the queue is empty, as the event source mapping would. */
  async drain(handler: (event: SQSEvent) => Promise<SQSBatchResponse | void>): Promise<void> {
    while (this.messages.length > 0) {
      const batch = this.messages.slice(0, this.batchSize);
      for (const message of batch) message.receiveCount++;
      const response = await handler({ Records: batch.map(toRecord) });
      const failed = new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
      // Delivered messages leave; failed ones stay at the head, in order, unless they are out of receives.
      this.messages.splice(0, batch.length, ...batch.filter((message) => failed.has(message.messageId)));
      for (const message of [...this.messages]) {
        if (message.receiveCount >= this.maxReceiveCount) {
          this.messages.splice(this.messages.indexOf(message), 1);
          this.deadLetters.push(message);
        }
      }
    }
  }
}

function toRecord(message: QueuedMessage): SQSRecord {
  return {
    messageId: message.messageId,
    receiptHandle: `${message.messageId}#${message.receiveCount}`,
    body: message.body,
    attributes: {
      ApproximateReceiveCount: String(message.receiveCount),
      SentTimestamp: String(Date.now()),
      SenderId: 'local',
      ApproximateFirstReceiveTimestamp: String(Date.now()),
      MessageGroupId: BOUNCE_MESSAGE_GROUP,
      MessageDeduplicationId: message.deduplicationId,
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:local:000000000000:ses-bouncer.fifo',
    awsRegion: 'local',
  };
}
