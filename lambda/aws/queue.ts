import { createHash } from 'node:crypto';
import { SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { BounceJob } from '../core/job.js';
import { QueueError } from '../core/errors.js';

export interface BounceQueue {
  enqueue(job: BounceJob): Promise<void>;
}

/**
 * One FIFO message group for every bounce: SQS then hands the delivery function one batch at a
 * time, in order, which is what serialises SendBounce calls across the account.
 */
export const BOUNCE_MESSAGE_GROUP = 'ses-bounces';

export class SqsBounceQueue implements BounceQueue {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async enqueue(job: BounceJob): Promise<void> {
    try {
      await this.client.send(
        new SendMessageCommand({
          QueueUrl: this.queueUrl,
          MessageBody: JSON.stringify(job),
          MessageGroupId: BOUNCE_MESSAGE_GROUP,
          MessageDeduplicationId: deduplicationId(job),
        }),
      );
    } catch (error) {
      throw new QueueError(`cannot queue the bounce of ${job.messageId}: ${(error as Error).message}`, { cause: error });
    }
  }
}

/**
 * Same message, recipients and claim, same id: SQS drops a repeat (an SDK retry of a send that
 * did arrive) within its 5-minute window, but never a job queued again under a new claim.
 */
export function deduplicationId(job: Pick<BounceJob, 'messageId' | 'recipients' | 'claimToken'>): string {
  return createHash('sha256')
    .update(job.messageId)
    .update('\n')
    .update(job.claimToken)
    .update('\n')
    .update([...job.recipients].sort().join('\n'))
    .digest('hex');
}
