import { createHash } from 'node:crypto';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { BounceJob } from '../core/job.js';
import { jobRecipients } from '../core/job.js';
import { QueueError } from '../core/errors.js';
import type { BounceQueue, DeadLetterQueue } from '../app/ports.js';
import { callSignal, QUEUE_CALL_MS } from './timeouts.js';

/**
 * One FIFO message group for every bounce: SQS then hands the delivery function one batch at a
 * time, in order, which is what serialises SendBounce calls across the account (docs/decisions.md).
 */
export const BOUNCE_MESSAGE_GROUP = 'ses-bounces';

const DEFAULT_CALL_TIMEOUT_MS = QUEUE_CALL_MS;

export class SqsBounceQueue implements BounceQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
    private readonly callTimeoutMs = DEFAULT_CALL_TIMEOUT_MS,
  ) {}

  async enqueue(job: BounceJob, signal?: AbortSignal): Promise<void> {
    await send(this.client, this.queueUrl, JSON.stringify(job), deduplicationId(job), callSignal(this.callTimeoutMs, signal), `the bounce of ${job.messageId}`);
  }
}

export class SqsDeadLetterQueue implements DeadLetterQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
    private readonly callTimeoutMs = DEFAULT_CALL_TIMEOUT_MS,
  ) {}

  async deadLetter(body: string, reason: string): Promise<void> {
    const id = createHash('sha256').update(body).digest('hex');
    await send(this.client, this.queueUrl, body, id, callSignal(this.callTimeoutMs), `a dead letter (${reason})`);
  }
}

async function send(client: SQSClient, queueUrl: string, body: string, dedupId: string, abortSignal: AbortSignal, what: string): Promise<void> {
  try {
    await client.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, MessageGroupId: BOUNCE_MESSAGE_GROUP, MessageDeduplicationId: dedupId }),
      { abortSignal },
    );
  } catch (error) {
    throw new QueueError(`cannot queue ${what}: ${(error as Error).name}: ${(error as Error).message}`, { cause: error });
  }
}

/**
 * The FIFO deduplication id: the same job (message, recipients, job id) with the same notes
 * gets the same id, so that an SDK retry of a send that did arrive is stored once. The job id
 * is in it on purpose: a second receipt invocation for the same message makes a job of its own,
 * which must not be swallowed by a first one that its receipt may have cancelled
 * (docs/delivery.md "Receipt").
 */
export function deduplicationId(job: Pick<BounceJob, 'messageId' | 'jobId' | 'sendBounce' | 'notes'>): string {
  const hash = createHash('sha256').update(job.messageId).update('\n').update(job.jobId).update('\n');
  hash.update([...jobRecipients(job)].sort().join('\n'));
  for (const note of job.notes ?? []) hash.update(`\n${note.attemptId}:${note.outcome}`);
  return hash.digest('hex');
}
