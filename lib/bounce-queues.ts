import { Duration } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { QueueSettings } from '../lambda/app/time-budget.js';

/**
 * The bounce queue and its dead-letter queue: FIFO (one message group serialises every
 * SendBounce of the account), SSE-SQS, TLS only. The timing follows the delivery design
 * (`queueSettings`, docs/delivery.md "Retries and the dead-letter queue"): a visibility timeout
 * of six times the delivery function's, more receives than fit in the 24 h window, and a
 * delivery delay longer than the receipt function can run.
 */
export class BounceQueues extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: { readonly timing: QueueSettings }) {
    super(scope, id);
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      fifo: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      fifo: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(props.timing.visibilityTimeoutSeconds),
      deliveryDelay: Duration.seconds(props.timing.deliveryDelaySeconds),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.timing.maxReceiveCount },
    });
  }
}
