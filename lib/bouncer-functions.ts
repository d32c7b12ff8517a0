import type { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../lambda/app/metric-names.js';
import type { StopDisposition } from '../lambda/core/disposition.js';
import { BundledFunction } from './bundled-function.js';

export interface BouncerFunctionsProps {
  readonly table: dynamodb.ITable;
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  /** The compiled policy's JSON (SynthPolicy `json`), the receipt function's `policy.json`. */
  readonly policyJson: string;
  /** The identity `ses:SendBounce` is granted on, and nothing else. */
  readonly bounceIdentityArn: string;
  readonly sendRatePerSecond: number;
  readonly receiptTimeout: Duration;
  readonly deliveryTimeout: Duration;
  /** The receipt function's answer when nothing is delivered (STOP_DISPOSITION). */
  readonly stopDisposition: StopDisposition;
  readonly logRetention: logs.RetentionDays;
}

/**
 * The receipt function (decides, queues) and the delivery function (claims, sends, records),
 * each with exactly the grants its calls need (lambda/aws/*, docs/delivery.md), and the event
 * source that feeds the delivery function the queue in batches with partial batch responses.
 */
export class BouncerFunctions extends Construct {
  readonly receipt: lambda.Function;
  readonly delivery: lambda.Function;

  constructor(scope: Construct, id: string, props: BouncerFunctionsProps) {
    super(scope, id);
    const environment = {
      BOUNCE_TABLE_NAME: props.table.tableName,
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    };
    this.receipt = new BundledFunction(this, 'Receipt', {
      handler: 'receipt',
      description: 'ses-bouncer: decides each SES receipt and queues its bounces',
      roleDescription: 'ses-bouncer receipt function',
      memorySize: 512,
      timeout: props.receiptTimeout,
      logRetention: props.logRetention,
      // POLICY_FILE is not set: the handler reads ${LAMBDA_TASK_ROOT}/policy.json, bundled here.
      environment: { ...environment, BOUNCE_QUEUE_URL: props.queue.queueUrl, STOP_DISPOSITION: props.stopDisposition },
      files: { 'policy.json': props.policyJson },
    }).function;
    this.delivery = new BundledFunction(this, 'Delivery', {
      handler: 'deliver',
      description: 'ses-bouncer: sends queued bounces with SES SendBounce at the SES rate and records the outcome',
      roleDescription: 'ses-bouncer delivery function',
      memorySize: 256,
      timeout: props.deliveryTimeout,
      logRetention: props.logRetention,
      environment: {
        ...environment,
        SEND_RATE_PER_SECOND: String(props.sendRatePerSecond),
        BOUNCE_QUEUE_URL: props.queue.queueUrl,
        BOUNCE_DEAD_LETTER_QUEUE_URL: props.deadLetterQueue.queueUrl,
      },
    }).function;

    // Receipt: the sender quota (UpdateItem), a job's tombstones (PutItem) and their read-back
    // (Query); the job itself (SendMessage).
    props.table.grant(this.receipt, 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query');
    props.queue.grant(this.receipt, 'sqs:SendMessage');
    // Delivery: every state change is an UpdateItem, every read-back a Query; it queues a job
    // again with its notes, and dead-letters a job whose own attempts are spent.
    props.table.grant(this.delivery, 'dynamodb:Query', 'dynamodb:UpdateItem');
    props.queue.grant(this.delivery, 'sqs:SendMessage');
    props.deadLetterQueue.grant(this.delivery, 'sqs:SendMessage');
    this.delivery.addToRolePolicy(new iam.PolicyStatement({ actions: ['ses:SendBounce'], resources: [props.bounceIdentityArn] }));
    // Grants sqs:ReceiveMessage, DeleteMessage, ChangeMessageVisibility, GetQueueAttributes, GetQueueUrl.
    this.delivery.addEventSource(new SqsEventSource(props.queue, { batchSize: 10, reportBatchItemFailures: true }));
  }
}
