import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, MetricName, SERVICE_NAME } from '../lambda/app/metric-names.js';
import { OLDEST_BOUNCE_ALARM_MS, SES_BOUNCE_WINDOW_MS } from '../lambda/core/window.js';

export interface BouncerAlarmsProps {
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  readonly receiptFunction: lambda.IFunction;
  readonly deliveryFunction: lambda.IFunction;
  /** With the policy's `accept`: the rule-set audit, whose findings and failures are alarmed. @default none */
  readonly audit?: lambda.IFunction;
  /** An existing topic to notify. @default one is created when `email` is set */
  readonly topic?: sns.ITopic;
  /** An address subscribed to the topic (confirmed by its owner). @default none */
  readonly email?: string;
}

/** One of the handlers' EMF metrics (namespace SesBouncer, dimension service=ses-bouncer). */
export function bouncerMetric(name: MetricName, options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: name,
    dimensionsMap: { service: SERVICE_NAME },
    statistic: cloudwatch.Stats.SUM,
    period: Duration.minutes(5),
    ...options,
  });
}

/**
 * The alarms, and the topic they notify: a KMS-encrypted topic that CloudWatch may publish to
 * (its resource policy, which replaces SNS's default one, allows it, scoped to this account's
 * alarms in this region) with a key CloudWatch may use, under the same scoping (SNS Developer
 * Guide, "Enable compatibility between event sources from AWS services and encrypted topics").
 */
export class BouncerAlarms extends Construct {
  readonly topic: sns.ITopic | undefined;
  readonly alarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: BouncerAlarmsProps) {
    super(scope, id);
    this.topic = props.topic ?? (props.email !== undefined ? this.#topic() : undefined);
    if (this.topic && props.email !== undefined) this.topic.addSubscription(new subscriptions.EmailSubscription(props.email));
    this.alarms = this.#alarms(props);
    if (this.topic) {
      const action = new cwActions.SnsAction(this.topic);
      for (const alarm of this.alarms) alarm.addAlarmAction(action);
    }
  }

  #topic(): sns.Topic {
    // Only this account's alarms in this region, as the service acting for them.
    const fromOurAlarms = {
      StringEquals: { 'aws:SourceAccount': Aws.ACCOUNT_ID },
      ArnLike: { 'aws:SourceArn': `arn:${Aws.PARTITION}:cloudwatch:${Aws.REGION}:${Aws.ACCOUNT_ID}:alarm:*` },
    };
    const cloudWatch = new iam.ServicePrincipal('cloudwatch.amazonaws.com');
    const key = new kms.Key(this, 'TopicKey', {
      description: 'ses-bouncer alarm topic encryption',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
      pendingWindow: Duration.days(7),
    });
    key.addToResourcePolicy(
      new iam.PolicyStatement({ sid: 'CloudWatchAlarmsUseTheKey', principals: [cloudWatch], actions: ['kms:Decrypt', 'kms:GenerateDataKey*'], resources: ['*'], conditions: fromOurAlarms }),
    );
    const topic = new sns.Topic(this, 'Topic', { displayName: 'ses-bouncer alarms', masterKey: key, enforceSSL: true });
    topic.addToResourcePolicy(
      new iam.PolicyStatement({ sid: 'CloudWatchAlarmsPublish', principals: [cloudWatch], actions: ['sns:Publish'], resources: [topic.topicArn], conditions: fromOurAlarms }),
    );
    return topic;
  }

  #alarms(props: BouncerAlarmsProps): cloudwatch.Alarm[] {
    const alarm = (id: string, metric: cloudwatch.IMetric, threshold: number, description: string): cloudwatch.Alarm =>
      new cloudwatch.Alarm(this, id, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
    const minute = Duration.minutes(1);
    const oldest = Duration.millis(OLDEST_BOUNCE_ALARM_MS);
    const alarms = [
      alarm(
        'DeadLetterQueueAlarm',
        props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: minute, statistic: cloudwatch.Stats.MAXIMUM }),
        0,
        'Bounces exhausted their own retries and sit in the dead-letter queue; they will not be sent unless redriven within 24 h of receipt.',
      ),
      alarm(
        'OldestBounceAlarm',
        props.queue.metricApproximateAgeOfOldestMessage({ period: minute, statistic: cloudwatch.Stats.MAXIMUM }),
        oldest.toSeconds(),
        `The oldest queued bounce waits for more than ${oldest.toHours()} h; SES refuses SendBounce ${SES_BOUNCE_WINDOW_MS / 3_600_000} h after receipt.`,
      ),
      alarm('UnknownAlarm', bouncerMetric(MetricName.Unknown), 0, 'A SendBounce got no clean answer: the bounce may or may not have gone out, and is never retried (at most once).'),
      alarm('RejectedAlarm', bouncerMetric(MetricName.Rejected), 0, 'SES rejected a SendBounce (MessageRejected or validation): check the bounce identity and the policy.'),
      alarm('ExpiredAlarm', bouncerMetric(MetricName.Expired), 0, 'A queued bounce passed the 24 h SendBounce window before it could be sent.'),
      alarm('NotQueuedAlarm', bouncerMetric(MetricName.NotQueued), 0, 'The receipt function could not queue a bounce (SQS or DynamoDB failing) and delivered the message instead.'),
      alarm('ErrorsAlarm', bouncerMetric(MetricName.Errors), 0, 'A handler failed (invalid event, policy, ledger or queue failure); receipt fails open into delivery.'),
    ];
    if (props.audit) {
      alarms.push(
        alarm(
          'AcceptBypassedAlarm',
          bouncerMetric(MetricName.AcceptBypassed),
          0,
          "The active rule set does not refuse what the policy's accept leaves out (another rule lists the domain or has no recipients, or the bouncer's rules are missing, disabled or not active): see the rule-set audit's log.",
        ),
        alarm(
          'RefusedAlarm',
          bouncerMetric(MetricName.Refused),
          0,
          "Recipients outside the policy's accept reached the function: a rule that invokes it lists them (a deployment in progress, or a rule of your own). The function drops them: neither bounced nor delivered.",
        ),
        alarm('RuleSetAuditErrorsAlarm', props.audit.metricErrors({ period: Duration.minutes(15), statistic: cloudwatch.Stats.SUM }), 0, 'The rule-set audit failed: nobody is watching the active rule set.'),
      );
    }
    for (const [name, fn] of [['Receipt', props.receiptFunction], ['Delivery', props.deliveryFunction]] as const) {
      alarms.push(
        alarm(`${name}FunctionErrorsAlarm`, fn.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }), 0, `The ${name.toLowerCase()} function raised errors.`),
        alarm(`${name}FunctionThrottlesAlarm`, fn.metricThrottles({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }), 0, `The ${name.toLowerCase()} function was throttled.`),
      );
    }
    return alarms;
  }
}

export interface BouncerDashboardProps {
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  readonly receiptFunction: lambda.IFunction;
  readonly deliveryFunction: lambda.IFunction;
}

/** The pipeline at a glance: decisions, bounces, guards, the queue against the 24 h window, the functions. */
export class BouncerDashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: BouncerDashboardProps) {
    super(scope, id);
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.days(1) });
    const counts = (names: readonly MetricName[]) => names.map((name) => bouncerMetric(name, { label: name }));
    // Guarded is counted once plainly and once per guard (the Guard dimension): search across guards.
    const guardedSearch = `SEARCH('{${METRICS_NAMESPACE},Guard,service} MetricName="${MetricName.Guarded}" service="${SERVICE_NAME}"', 'Sum', 300)`;
    const oldest = Duration.millis(OLDEST_BOUNCE_ALARM_MS);
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Decisions',
        left: counts([MetricName.Delivered, MetricName.Dropped, MetricName.Queued, MetricName.Guarded, MetricName.NotQueued, MetricName.Refused, MetricName.AcceptBypassed]),
        width: 8,
      }),
      new cloudwatch.GraphWidget({ title: 'Bounces', left: counts([MetricName.Sent, MetricName.Throttled, MetricName.Rejected, MetricName.Unknown, MetricName.Expired]), width: 8 }),
      new cloudwatch.GraphWidget({ title: 'Guarded by guard', left: [new cloudwatch.MathExpression({ expression: guardedSearch, label: '', period: Duration.minutes(5) })], width: 8 }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Oldest queued bounce (s) vs the 24 h SendBounce window',
        left: [props.queue.metricApproximateAgeOfOldestMessage({ statistic: cloudwatch.Stats.MAXIMUM, label: 'oldest queued bounce' })],
        leftAnnotations: [
          { value: oldest.toSeconds(), label: `alarm (${oldest.toHours()} h)`, color: cloudwatch.Color.ORANGE },
          { value: SES_BOUNCE_WINDOW_MS / 1000, label: 'SES window (24 h)', color: cloudwatch.Color.RED },
        ],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Queue depth',
        left: [
          props.queue.metricApproximateNumberOfMessagesVisible({ statistic: cloudwatch.Stats.MAXIMUM, label: 'queued' }),
          props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: cloudwatch.Stats.MAXIMUM, label: 'dead-letter queue' }),
        ],
        width: 8,
      }),
      new cloudwatch.GraphWidget({ title: 'Retries and errors', left: counts([MetricName.Retried, MetricName.DeadLettered, MetricName.ClaimConflict, MetricName.Errors]), width: 8 }),
    );
    dashboard.addWidgets(
      ...([['Receipt', props.receiptFunction], ['Delivery', props.deliveryFunction]] as const).map(
        ([name, fn]) =>
          new cloudwatch.GraphWidget({
            title: `${name} function`,
            left: [fn.metricInvocations(), fn.metricErrors(), fn.metricThrottles()],
            right: [fn.metricDuration({ statistic: cloudwatch.Stats.percentile(99) })],
            width: 12,
          }),
      ),
    );
    this.dashboard = dashboard;
  }
}
