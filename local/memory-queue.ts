import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { BounceQueue, DeadLetterQueue } from '../lambda/app/ports.js';
import { BOUNCE_MESSAGE_GROUP, deduplicationId } from '../lambda/aws/queue.js';
import type { BounceJob } from '../lambda/core/job.js';

/** SQS FIFO's deduplication interval. */
const DEDUPLICATION_WINDOW_MS = 5 * 60_000;

export interface QueuedMessage {
  readonly messageId: string;
  readonly body: string;
  readonly deduplicationId: string;
  receiveCount: number;
  /** Epoch ms before which the message is not handed out (delay, or in flight). */
  visibleAt: number;
}

export interface MemoryFifoQueueOptions {
  /** Receives before SQS moves a message to the dead-letter list (its redrive policy). @default 1000 */
  readonly maxReceiveCount?: number;
  /** @default 10, the event source mapping's batch size */
  readonly batchSize?: number;
  /** How long a handed-back message stays invisible. @default 1000 (short, for a local run) */
  readonly visibilityTimeoutMs?: number;
  /** Queue-level delivery delay. @default 0 */
  readonly delayMs?: number;
}

/**
 * An in-process stand-in for the SQS FIFO queue and its dead-letter queue (no local engine
 * exists for SQS), implementing the same ports as the SQS adapters: one message group,
 * deduplication within five minutes, delivery delay, visibility timeouts, receive counts,
 * redrive to the dead-letter list, and an event source mapping (`drain`) that hands out one
 * batch at a time and honours partial batch responses. Just what the delivery function relies
 * on, nothing more.
 */
export class MemoryFifoQueue implements BounceQueue, DeadLetterQueue {
  /** Every job ever accepted (deduplicated), in order. */
  readonly sent: BounceJob[] = [];
  readonly deadLetters: { readonly body: string; readonly reason: string }[] = [];
  private readonly messages: QueuedMessage[] = [];
  private readonly seen = new Map<string, number>();
  private readonly maxReceiveCount: number;
  private readonly batchSize: number;
  private readonly visibilityTimeoutMs: number;
  private readonly delayMs: number;

  constructor(
    options: MemoryFifoQueueOptions = {},
    private readonly clock: () => number = Date.now,
  ) {
    this.maxReceiveCount = options.maxReceiveCount ?? 1000;
    this.batchSize = options.batchSize ?? 10;
    this.visibilityTimeoutMs = options.visibilityTimeoutMs ?? 1000;
    this.delayMs = options.delayMs ?? 0;
  }

  get depth(): number {
    return this.messages.length;
  }

  async enqueue(job: BounceJob): Promise<void> {
    const id = deduplicationId(job);
    const seenAt = this.seen.get(id);
    // A repeat within the window is accepted and not stored again, as SQS does.
    if (seenAt !== undefined && this.clock() - seenAt < DEDUPLICATION_WINDOW_MS) return;
    this.seen.set(id, this.clock());
    this.sent.push(job);
    this.messages.push({ messageId: randomUUID(), body: JSON.stringify(job), deduplicationId: id, receiveCount: 0, visibleAt: this.clock() + this.delayMs });
  }

  async deadLetter(body: string, reason: string): Promise<void> {
    this.deadLetters.push({ body, reason });
  }

  /**
   * The next batch, as SQS hands it to the event source mapping: from the head of the group,
   * nothing while an earlier message is in flight; each received message is in flight for the
   * visibility timeout and its receive count goes up. Messages over maxReceiveCount move to the
   * dead letters instead. Empty when nothing is visible now.
   */
  receive(): SQSRecord[] {
    const now = this.clock();
    const batch: QueuedMessage[] = [];
    for (const message of [...this.messages]) {
      if (message.visibleAt > now) break; // FIFO: an invisible head blocks the group
      if (message.receiveCount >= this.maxReceiveCount) {
        this.messages.splice(this.messages.indexOf(message), 1);
        this.deadLetters.push({ body: message.body, reason: `received ${message.receiveCount} times (redrive policy)` });
        continue;
      }
      message.receiveCount += 1;
      message.visibleAt = now + this.visibilityTimeoutMs;
      batch.push(message);
      if (batch.length === this.batchSize) break;
    }
    return batch.map(toRecord);
  }

  /** Deletes what the function finished with: every record of the batch not in batchItemFailures. */
  acknowledge(batch: readonly SQSRecord[], response: SQSBatchResponse | void): void {
    const failed = new Set((response?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier));
    for (const record of batch) {
      if (failed.has(record.messageId)) continue;
      const index = this.messages.findIndex((message) => message.messageId === record.messageId);
      if (index !== -1) this.messages.splice(index, 1);
    }
  }

  /** Hands batches to `handler` until the queue is empty, waiting out visibility timeouts, as the event source mapping would. */
  async drain(handler: (event: SQSEvent) => Promise<SQSBatchResponse | void>): Promise<void> {
    while (this.messages.length > 0) {
      const batch = this.receive();
      if (batch.length === 0) {
        const next = Math.min(...this.messages.map((message) => message.visibleAt));
        await sleep(Math.max(1, next - this.clock()));
        continue;
      }
      let response: SQSBatchResponse | void;
      try {
        response = await handler({ Records: batch });
      } catch {
        // A failed invocation deletes nothing: the whole batch comes back after its visibility timeout.
        continue;
      }
      this.acknowledge(batch, response);
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
