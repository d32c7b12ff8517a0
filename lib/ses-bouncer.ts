import { ArnFormat, Aws, Duration, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction, OutputFormat, type BundlingOptions } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ses from 'aws-cdk-lib/aws-ses';
import * as sesActions from 'aws-cdk-lib/aws-ses-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { SesBouncerConfigError } from './errors.js';
import { PROJECT_ROOT, sourceFile } from './paths.js';
import { RuleSetActivation } from './rule-set-activation.js';
import { loadSynthPolicy, type SynthPolicy } from './synth-policy.js';
import { PACING_MARGIN } from '../lambda/app/pacer.js';
import { attemptReserveMs, queueSettings } from '../lambda/app/time-budget.js';
import { METRICS_NAMESPACE, MetricName, SERVICE_NAME } from '../lambda/app/telemetry.js';
import { OLDEST_BOUNCE_ALARM_MS, SES_BOUNCE_WINDOW_MS } from '../lambda/core/window.js';

export { METRICS_NAMESPACE, SERVICE_NAME };

/** SES gives a RequestResponse Lambda action 30 s to answer. */
const SES_LAMBDA_DEADLINE = Duration.seconds(30);
/** SES accepts at most 100 recipients per receipt rule. */
const MAX_RULE_RECIPIENTS = 100;
const OLDEST_MESSAGE_ALARM = Duration.millis(OLDEST_BOUNCE_ALARM_MS);
const SES_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?$/;

export interface SesBouncerProps {
  /**
   * Envelope recipients the receipt rule matches: addresses (`user@example.com`), domains
   * (`example.com`) or subdomains (`.example.com`), as SES receipt rules take them. Required and
   * non-empty: a rule without recipients would take the mail of every verified domain.
   */
  readonly recipients: readonly string[];

  /**
   * Path of the policy file (YAML, or JSON by its `.json` extension). Validated at synth by the
   * handlers' own validator; an invalid policy fails synthesis naming the file and every problem.
   * The compiled, self-contained policy is bundled into the receipt function as `policy.json`.
   */
  readonly policy: string;

  /**
   * Name of the receipt rule set that holds the rule.
   * @default 'ses-bouncer'
   */
  readonly ruleSetName?: string;

  /**
   * Whether `ruleSetName` names a rule set that already exists (the rule is added to it) rather
   * than one this construct creates.
   * @default false - a new rule set named `ruleSetName` is created
   */
  readonly existingRuleSet?: boolean;

  /**
   * Make the rule set the account's active one (a custom resource), and on delete re-activate the
   * rule set that was active before. SES has one active rule set per account and region.
   * @default false - activate it yourself (`aws ses set-active-receipt-rule-set`)
   */
  readonly activateRuleSet?: boolean;

  /**
   * Name of the receipt rule.
   * @default 'ses-bouncer'
   */
  readonly ruleName?: string;

  /**
   * Name of an existing rule in the rule set after which the rule is placed.
   * @default - the rule is placed first in the rule set
   */
  readonly after?: string;

  /**
   * Whether the rule requires TLS from the sending server.
   * @default ses.TlsPolicy.OPTIONAL
   */
  readonly tlsPolicy?: ses.TlsPolicy;

  /**
   * SendBounce calls per second (SEND_RATE_PER_SECOND of the delivery function).
   * @default 1 - the SES SendBounce limit
   */
  readonly sendRatePerSecond?: number;

  /**
   * ARN of the SES identity bounces are sent from; the only resource `ses:SendBounce` is granted on.
   * @default - the policy's `bounce.senderArn`, else
   *   `arn:${Partition}:ses:${Region}:${Account}:identity/<domain of the policy's bounce.sender>`
   */
  readonly bounceIdentityArn?: string;

  /**
   * E-mail address subscribed to the alarm topic.
   * @default - no subscription
   */
  readonly alarmEmail?: string;

  /**
   * SNS topic the alarms notify.
   * @default - a KMS-encrypted topic is created when `alarmEmail` is set; otherwise alarms have no action
   */
  readonly alarmTopic?: sns.ITopic;

  /**
   * Removal policy of the ledger table.
   * @default RemovalPolicy.RETAIN
   */
  readonly tableRemovalPolicy?: RemovalPolicy;

  /**
   * Timeout of the receipt function; must be below SES's 30 s deadline.
   * @default Duration.seconds(10)
   */
  readonly receiptTimeout?: Duration;

  /**
   * Timeout of the delivery function. The queue's visibility timeout is six times this, and
   * its redrive policy allows more receives than fit in the 24 h SendBounce window, so that
   * only the delivery function dead-letters a job, once the job's own attempts are spent
   * (docs/delivery.md "Delivery").
   * @default Duration.seconds(60)
   */
  readonly deliveryTimeout?: Duration;

  /**
   * Retention of the functions' log groups.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Create a CloudWatch dashboard of the pipeline.
   * @default true
   */
  readonly dashboard?: boolean;
}

/**
 * Bounces unwanted inbound mail on Amazon SES: a receipt rule → receipt function (decides, claims
 * in the ledger, queues) → SQS FIFO → delivery function (paced SendBounce) → ledger outcome.
 */
export class SesBouncer extends Construct {
  readonly ruleSet: ses.IReceiptRuleSet;
  readonly rule: ses.ReceiptRule;
  readonly receiptFunction: NodejsFunction;
  readonly deliveryFunction: NodejsFunction;
  readonly table: dynamodb.Table;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  /** The topic alarms notify, if any. */
  readonly alarmTopic: sns.ITopic | undefined;
  readonly alarms: readonly cloudwatch.Alarm[];
  readonly dashboard: cloudwatch.Dashboard | undefined;
  /** ARN `ses:SendBounce` is granted on. */
  readonly bounceIdentityArn: string;
  /** The validated policy. */
  readonly policy: SynthPolicy;
  readonly activation: RuleSetActivation | undefined;

  constructor(scope: Construct, id: string, props: SesBouncerProps) {
    super(scope, id);
    const settings = validateProps(props);
    this.policy = loadSynthPolicy(props.policy);
    this.bounceIdentityArn = this.#bounceIdentityArn(props.bounceIdentityArn);
    const logRetention = props.logRetention ?? logs.RetentionDays.THREE_MONTHS;

    // Ledger (SPEC §8, a contract: pk/sk strings, TTL expiresAt, on demand).
    this.table = new dynamodb.Table(this, 'Ledger', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiresAt',
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      removalPolicy: props.tableRemovalPolicy ?? RemovalPolicy.RETAIN,
    });

    // Bounce queue: FIFO with one message group serialises every SendBounce of the account.
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      fifo: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const timing = queueSettings(settings.deliveryTimeout.toSeconds(), settings.receiptTimeout.toSeconds());
    this.queue = new sqs.Queue(this, 'Queue', {
      fifo: true,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(timing.visibilityTimeoutSeconds),
      deliveryDelay: Duration.seconds(timing.deliveryDelaySeconds),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: timing.maxReceiveCount },
    });

    // Functions.
    const receiptLogs = new logs.LogGroup(this, 'ReceiptLogs', { retention: logRetention, removalPolicy: RemovalPolicy.DESTROY });
    const deliveryLogs = new logs.LogGroup(this, 'DeliveryLogs', { retention: logRetention, removalPolicy: RemovalPolicy.DESTROY });
    const receiptRole = functionRole(this, 'ReceiptRole', 'ses-bouncer receipt function', receiptLogs);
    const deliveryRole = functionRole(this, 'DeliveryRole', 'ses-bouncer delivery function', deliveryLogs);
    const common = {
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: sourceFile('package-lock.json'),
    };
    const baseEnvironment = {
      BOUNCE_TABLE_NAME: this.table.tableName,
      POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
      POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
    };
    const policyJson = this.policy.jsonFile;
    this.receiptFunction = new NodejsFunction(this, 'ReceiptFunction', {
      ...common,
      entry: sourceFile('lambda/receipt.ts'),
      description: 'ses-bouncer: decides each SES receipt, claims bounces in the ledger and queues them',
      memorySize: 512,
      timeout: settings.receiptTimeout,
      role: receiptRole,
      logGroup: receiptLogs,
      environment: {
        ...baseEnvironment,
        BOUNCE_QUEUE_URL: this.queue.queueUrl,
        // POLICY_FILE is not set: the handler reads ${LAMBDA_TASK_ROOT}/policy.json, bundled below.
      },
      bundling: {
        ...handlerBundling(),
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (_inputDir: string, outputDir: string) => [copyCommand(policyJson, `${outputDir}/policy.json`)],
        },
      },
    });
    this.deliveryFunction = new NodejsFunction(this, 'DeliveryFunction', {
      ...common,
      entry: sourceFile('lambda/deliver.ts'),
      description: 'ses-bouncer: sends queued bounces with SES SendBounce at the SES rate and records the outcome',
      memorySize: 256,
      timeout: settings.deliveryTimeout,
      role: deliveryRole,
      logGroup: deliveryLogs,
      environment: {
        ...baseEnvironment,
        SEND_RATE_PER_SECOND: String(settings.sendRatePerSecond),
        BOUNCE_QUEUE_URL: this.queue.queueUrl,
        BOUNCE_DEAD_LETTER_QUEUE_URL: this.deadLetterQueue.queueUrl,
      },
      bundling: handlerBundling(),
    });
    for (const fn of [this.receiptFunction, this.deliveryFunction]) {
      Validations.of(fn).acknowledge({
        id: 'AwsSolutions-L1',
        reason: 'ses-bouncer targets the nodejs22.x runtime (project decision, tested on Node.js 22; in AWS support); moving to a newer runtime is a deliberate, tested change.',
      });
    }

    // Least privilege: exactly the calls each handler makes (lambda/aws/*). Receipt: the sender
    // quota (UpdateItem), a job's tombstones (PutItem) and their read-back (Query). Delivery:
    // every state change is an UpdateItem, every read-back a Query; it queues a job again with
    // its notes, and dead-letters a job whose own attempts are spent.
    this.table.grant(this.receiptFunction, 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query');
    this.queue.grant(this.receiptFunction, 'sqs:SendMessage');
    this.table.grant(this.deliveryFunction, 'dynamodb:Query', 'dynamodb:UpdateItem');
    this.queue.grant(this.deliveryFunction, 'sqs:SendMessage');
    this.deadLetterQueue.grant(this.deliveryFunction, 'sqs:SendMessage');
    this.deliveryFunction.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['ses:SendBounce'], resources: [this.bounceIdentityArn] }),
    );
    // Grants sqs:ReceiveMessage, DeleteMessage, ChangeMessageVisibility, GetQueueAttributes, GetQueueUrl.
    this.deliveryFunction.addEventSource(
      new SqsEventSource(this.queue, { batchSize: 10, reportBatchItemFailures: true }),
    );

    // Receipt rule.
    const stack = Stack.of(this);
    this.ruleSet = settings.existingRuleSet
      ? ses.ReceiptRuleSet.fromReceiptRuleSetName(this, 'RuleSet', settings.ruleSetName)
      : new ses.ReceiptRuleSet(this, 'RuleSet', { receiptRuleSetName: settings.ruleSetName });
    // Added before the SES Lambda action binds, so the action keeps this permission instead of
    // adding one limited by account only. The ARN is built from names: a Ref to the rule would be a cycle.
    this.receiptFunction.addPermission('AllowSes', {
      principal: new iam.ServicePrincipal('ses.amazonaws.com'),
      action: 'lambda:InvokeFunction',
      sourceAccount: Aws.ACCOUNT_ID,
      sourceArn: stack.formatArn({
        service: 'ses',
        resource: 'receipt-rule-set',
        resourceName: `${settings.ruleSetName}:receipt-rule/${settings.ruleName}`,
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      }),
    });
    this.rule = new ses.ReceiptRule(this, 'Rule', {
      ruleSet: this.ruleSet,
      receiptRuleName: settings.ruleName,
      recipients: [...props.recipients],
      scanEnabled: true,
      tlsPolicy: props.tlsPolicy ?? ses.TlsPolicy.OPTIONAL,
      enabled: true,
      after: props.after ? ses.ReceiptRule.fromReceiptRuleName(this, 'After', props.after) : undefined,
      actions: [
        new sesActions.Lambda({
          function: this.receiptFunction,
          invocationType: sesActions.LambdaInvocationType.REQUEST_RESPONSE,
        }),
      ],
    });

    if (settings.activateRuleSet) {
      this.activation = new RuleSetActivation(this, 'Activation', { ruleSetName: settings.ruleSetName, logRetention });
      // Activate once the rule is in place; on delete, deactivate before the rule set goes.
      this.activation.node.addDependency(this.rule);
      if (this.ruleSet instanceof ses.ReceiptRuleSet) this.activation.node.addDependency(this.ruleSet);
    }

    // Alarms and dashboard.
    this.alarmTopic = this.#alarmTopic(props);
    this.alarms = this.#alarms();
    if (this.alarmTopic) {
      const action = new cwActions.SnsAction(this.alarmTopic);
      for (const alarm of this.alarms) alarm.addAlarmAction(action);
    }
    this.dashboard = props.dashboard === false ? undefined : this.#dashboard();
  }

  /** One of the handlers' EMF metrics (namespace SesBouncer, dimension service=ses-bouncer). */
  metric(metricName: MetricName, options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service: SERVICE_NAME },
      statistic: cloudwatch.Stats.SUM,
      period: Duration.minutes(5),
      ...options,
    });
  }

  #bounceIdentityArn(fromProps: string | undefined): string {
    const fromPolicy = this.policy.compiled.bounce.senderArn;
    if (fromProps !== undefined && fromPolicy !== undefined && fromProps !== fromPolicy) {
      throw new SesBouncerConfigError('SesBouncer: invalid props', [
        `bounceIdentityArn: ${fromProps} differs from the policy's bounce.senderArn ${fromPolicy}; ` +
          "the delivery function sends with the policy's ARN, so that is the one to grant",
      ]);
    }
    if (fromProps ?? fromPolicy) return (fromProps ?? fromPolicy) as string;
    const sender = this.policy.compiled.bounce.sender;
    const domain = sender.slice(sender.lastIndexOf('@') + 1).toLowerCase();
    return Stack.of(this).formatArn({
      service: 'ses',
      resource: 'identity',
      resourceName: domain,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
  }

  #alarmTopic(props: SesBouncerProps): sns.ITopic | undefined {
    let topic = props.alarmTopic;
    if (!topic && props.alarmEmail !== undefined) {
      const key = new kms.Key(this, 'AlarmTopicKey', {
        description: 'ses-bouncer alarm topic encryption',
        enableKeyRotation: true,
        removalPolicy: RemovalPolicy.DESTROY,
        pendingWindow: Duration.days(7),
      });
      // CloudWatch publishes alarm notifications to the encrypted topic with this key.
      key.addToResourcePolicy(
        new iam.PolicyStatement({
          principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
          actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
          resources: ['*'],
        }),
      );
      topic = new sns.Topic(this, 'AlarmTopic', { displayName: 'ses-bouncer alarms', masterKey: key, enforceSSL: true });
    }
    if (topic && props.alarmEmail !== undefined) topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
    return topic;
  }

  #alarms(): cloudwatch.Alarm[] {
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
    const alarms = [
      alarm(
        'DeadLetterQueueAlarm',
        this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: minute, statistic: cloudwatch.Stats.MAXIMUM }),
        0,
        'Bounces exhausted their retries and sit in the dead-letter queue; they will not be sent unless redriven within 24 h of receipt.',
      ),
      alarm(
        'OldestBounceAlarm',
        this.queue.metricApproximateAgeOfOldestMessage({ period: minute, statistic: cloudwatch.Stats.MAXIMUM }),
        OLDEST_MESSAGE_ALARM.toSeconds(),
        `The oldest queued bounce waits for more than ${OLDEST_MESSAGE_ALARM.toHours()} h; SES refuses SendBounce ${SES_BOUNCE_WINDOW_MS / 3_600_000} h after receipt.`,
      ),
      alarm('UnknownAlarm', this.metric(MetricName.Unknown), 0, 'A SendBounce got no clean answer: the bounce may or may not have gone out, and is never retried (at most once).'),
      alarm('RejectedAlarm', this.metric(MetricName.Rejected), 0, 'SES rejected a SendBounce (MessageRejected or validation): check the bounce identity and the policy.'),
      alarm('ExpiredAlarm', this.metric(MetricName.Expired), 0, 'A queued bounce passed the 24 h SendBounce window before it could be sent.'),
      alarm('NotQueuedAlarm', this.metric(MetricName.NotQueued), 0, 'The receipt function could not queue a bounce (SQS or DynamoDB failing) and delivered the message instead.'),
      alarm('ErrorsAlarm', this.metric(MetricName.Errors), 0, 'A handler failed (invalid event, policy, ledger or queue failure); receipt fails open into delivery.'),
    ];
    for (const [name, fn] of [['Receipt', this.receiptFunction], ['Delivery', this.deliveryFunction]] as const) {
      alarms.push(
        alarm(`${name}FunctionErrorsAlarm`, fn.metricErrors({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }), 0, `The ${name.toLowerCase()} function raised errors.`),
        alarm(`${name}FunctionThrottlesAlarm`, fn.metricThrottles({ period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM }), 0, `The ${name.toLowerCase()} function was throttled.`),
      );
    }
    return alarms;
  }

  #dashboard(): cloudwatch.Dashboard {
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      defaultInterval: Duration.days(1),
    });
    const counts = (names: readonly MetricName[]) => names.map((name) => this.metric(name, { label: name }));
    // Guarded is counted once plainly and once per guard (the Guard dimension): search across guards.
    const guardedSearch = `SEARCH('{${METRICS_NAMESPACE},Guard,service} MetricName="${MetricName.Guarded}" service="${SERVICE_NAME}"', 'Sum', 300)`;
    const guardedByGuard = new cloudwatch.MathExpression({ expression: guardedSearch, label: '', period: Duration.minutes(5) });
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Decisions', left: counts([MetricName.Delivered, MetricName.Dropped, MetricName.Queued, MetricName.Guarded, MetricName.NotQueued]), width: 8 }),
      new cloudwatch.GraphWidget({ title: 'Bounces', left: counts([MetricName.Sent, MetricName.Throttled, MetricName.Rejected, MetricName.Unknown, MetricName.Expired]), width: 8 }),
      new cloudwatch.GraphWidget({ title: 'Guarded by guard', left: [guardedByGuard], width: 8 }),
    );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Oldest queued bounce (s) vs the 24 h SendBounce window',
        left: [this.queue.metricApproximateAgeOfOldestMessage({ statistic: cloudwatch.Stats.MAXIMUM, label: 'oldest queued bounce' })],
        leftAnnotations: [
          { value: OLDEST_MESSAGE_ALARM.toSeconds(), label: `alarm (${OLDEST_MESSAGE_ALARM.toHours()} h)`, color: cloudwatch.Color.ORANGE },
          { value: SES_BOUNCE_WINDOW_MS / 1000, label: 'SES window (24 h)', color: cloudwatch.Color.RED },
        ],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Queue depth',
        left: [
          this.queue.metricApproximateNumberOfMessagesVisible({ statistic: cloudwatch.Stats.MAXIMUM, label: 'queued' }),
          this.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: cloudwatch.Stats.MAXIMUM, label: 'dead-letter queue' }),
        ],
        width: 8,
      }),
      new cloudwatch.GraphWidget({ title: 'Retries and errors', left: counts([MetricName.Retried, MetricName.DeadLettered, MetricName.ClaimConflict, MetricName.Errors]), width: 8 }),
    );
    dashboard.addWidgets(
      ...[this.receiptFunction, this.deliveryFunction].map(
        (fn, i) =>
          new cloudwatch.GraphWidget({
            title: `${i === 0 ? 'Receipt' : 'Delivery'} function`,
            left: [fn.metricInvocations(), fn.metricErrors(), fn.metricThrottles()],
            right: [fn.metricDuration({ statistic: cloudwatch.Stats.percentile(99) })],
            width: 12,
          }),
      ),
    );
    return dashboard;
  }
}

interface Settings {
  readonly ruleSetName: string;
  readonly ruleName: string;
  readonly existingRuleSet: boolean;
  readonly activateRuleSet: boolean;
  readonly sendRatePerSecond: number;
  readonly receiptTimeout: Duration;
  readonly deliveryTimeout: Duration;
}

/** Checks the props and names each bad one; all problems in one error. */
function validateProps(props: SesBouncerProps): Settings {
  const problems: string[] = [];
  const recipients = props.recipients as readonly unknown[] | undefined;
  if (!Array.isArray(recipients) || recipients.length === 0) {
    problems.push('recipients: at least one recipient is required (a receipt rule without recipients matches every verified domain)');
  } else {
    if (recipients.length > MAX_RULE_RECIPIENTS) problems.push(`recipients: at most ${MAX_RULE_RECIPIENTS} per receipt rule, got ${recipients.length}`);
    recipients.forEach((r, i) => {
      if (typeof r !== 'string' || !/^[^\s@]*@?[^\s@]+$/.test(r) || r.trim() === '' || r === '.') {
        problems.push(`recipients[${i}]: not an address, domain or .subdomain: ${JSON.stringify(r)}`);
      }
    });
  }
  if (typeof props.policy !== 'string' || props.policy.trim() === '') problems.push('policy: a policy file is required');
  const ruleSetName = props.ruleSetName ?? 'ses-bouncer';
  const ruleName = props.ruleName ?? 'ses-bouncer';
  for (const [prop, name] of [['ruleSetName', ruleSetName], ['ruleName', ruleName], ['after', props.after]] as const) {
    if (name !== undefined && !SES_NAME.test(name)) {
      problems.push(`${prop}: ${JSON.stringify(name)} is not an SES name (letters, digits, '.', '_', '-'; starts and ends with a letter or digit; at most 64)`);
    }
  }
  if (props.after !== undefined && props.after === ruleName) problems.push('after: cannot be the rule itself');
  const sendRatePerSecond = props.sendRatePerSecond ?? 1;
  if (!Number.isFinite(sendRatePerSecond) || sendRatePerSecond <= 0) problems.push(`sendRatePerSecond: must be a positive number, got ${sendRatePerSecond}`);
  const receiptTimeout = props.receiptTimeout ?? Duration.seconds(10);
  if (!receiptTimeout.isUnresolved() && receiptTimeout.toMilliseconds() >= SES_LAMBDA_DEADLINE.toMilliseconds()) {
    problems.push(`receiptTimeout: must be below SES's 30 s deadline for RequestResponse, got ${receiptTimeout.toHumanString()}`);
  }
  const deliveryTimeout = props.deliveryTimeout ?? Duration.seconds(60);
  // One attempt (claim, the pacer's wait, one SendBounce, recording) must fit in an invocation,
  // or every job would be handed back until it expires (docs/delivery.md "Time").
  const shortest = Math.max(10, Number.isFinite(sendRatePerSecond) && sendRatePerSecond > 0 ? Math.ceil((attemptReserveMs((1000 / sendRatePerSecond) * (1 + PACING_MARGIN)) + 5_000) / 1000) : 0);
  if (!deliveryTimeout.isUnresolved() && (deliveryTimeout.toSeconds() < shortest || deliveryTimeout.toSeconds() > 900)) {
    problems.push(
      `deliveryTimeout: must be between ${shortest} s (one delivery attempt at ${sendRatePerSecond} SendBounce/s must fit) and 15 min, got ${deliveryTimeout.toHumanString()}`,
    );
  }
  if (props.alarmEmail !== undefined && !Token.isUnresolved(props.alarmEmail) && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(props.alarmEmail)) {
    problems.push(`alarmEmail: not an e-mail address: ${JSON.stringify(props.alarmEmail)}`);
  }
  if (props.bounceIdentityArn !== undefined && !Token.isUnresolved(props.bounceIdentityArn) && !/^arn:[^:]+:ses:[^:]*:\d{12}:identity\/.+$/.test(props.bounceIdentityArn)) {
    problems.push(`bounceIdentityArn: not an SES identity ARN: ${JSON.stringify(props.bounceIdentityArn)}`);
  }
  if (problems.length > 0) throw new SesBouncerConfigError('SesBouncer: invalid props', problems);
  return {
    ruleSetName,
    ruleName,
    existingRuleSet: props.existingRuleSet ?? false,
    activateRuleSet: props.activateRuleSet ?? false,
    sendRatePerSecond,
    receiptTimeout,
    deliveryTimeout,
  };
}

/** A function role without managed policies: its log group, plus the grants added later. */
function functionRole(scope: Construct, id: string, description: string, logGroup: logs.ILogGroup): iam.Role {
  const role = new iam.Role(scope, id, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'), description });
  logGroup.grantWrite(role);
  return role;
}

/**
 * Bundling shared by both handlers (and the cold-start benchmark): local esbuild (no Docker),
 * CJS, minified, the AWS SDK bundled (see the README: measured smaller init and pinned
 * versions), and `module` before `main` so esbuild takes the SDK's ES builds and tree-shakes
 * them. The source map ships without sources, for mapping a stack offline; it is not enabled at
 * run time (`--enable-source-maps` parses it at every cold start: +25–60 ms, measured).
 */
export function handlerBundling(): BundlingOptions {
  return {
    forceDockerBundling: false,
    format: OutputFormat.CJS,
    target: 'node22',
    minify: true,
    sourceMap: true,
    sourcesContent: false,
    mainFields: ['module', 'main'],
    externalModules: [],
  };
}

function copyCommand(from: string, to: string): string {
  return process.platform === 'win32' ? `copy /Y "${from}" "${to}"` : `cp '${from.replace(/'/g, "'\\''")}' '${to.replace(/'/g, "'\\''")}'`;
}
