// The full stack as deployed with activation and alarm e-mail: synthesized once (bundling and
// cdk-nag included), then every property of README "What it creates, and why" asserted by intent.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { queueSettings } from '../../lambda/app/time-budget.js';
import { SEND_CUTOFF_MS } from '../../lambda/core/window.js';
import { Match } from 'aws-cdk-lib/assertions';
import { appFromContext } from '../../lib/app.js';
import { loadPolicyFile } from '../../lambda/app/policy-loader.js';
import { WORST_CASE_MS } from '../../lib/rule-set-activation.handler.js';
import { actions, iamStatements, logicalIds, synthesize, tempOutdir, type Synthesized } from './support.js';

const ACCOUNT = '111122223333';
const REGION = 'eu-west-1';
const { app, stack } = appFromContext({
  outdir: tempOutdir(),
  context: {
    account: ACCOUNT,
    region: REGION,
    recipients: ['example.com', 'info@example.org'],
    policyFile: 'examples/policy.yaml',
    activateRuleSet: true,
    displaceActiveRuleSet: true,
    alarmEmail: 'ops@example.com',
  },
});
const bouncer = stack.bouncer;
let synth: Synthesized;

beforeAll(() => {
  synth = synthesize(app, stack);
});

const id = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
const resolve = (value: unknown) => stack.resolve(value);

describe('receipt rule', () => {
  test('explicit recipients, spam and virus scanning, TLS policy, Lambda action RequestResponse', () => {
    synth.template.hasResourceProperties('AWS::SES::ReceiptRule', {
      RuleSetName: { Ref: id(bouncer.ruleSet) },
      Rule: {
        Name: 'ses-bouncer',
        Enabled: true,
        Recipients: ['example.com', 'info@example.org'],
        ScanEnabled: true,
        TlsPolicy: 'Optional',
        Actions: [{ LambdaAction: { FunctionArn: { 'Fn::GetAtt': [id(bouncer.receiptFunction), 'Arn'] }, InvocationType: 'RequestResponse' } }],
      },
    });
    synth.template.hasResourceProperties('AWS::SES::ReceiptRuleSet', { RuleSetName: 'ses-bouncer' });
  });

  test('SES may invoke the receipt function only from this account and this rule', () => {
    const permissions = logicalIds(synth.json, 'AWS::Lambda::Permission');
    expect(permissions).toHaveLength(1);
    const permission = synth.json.Resources[permissions[0]!]!.Properties;
    expect(permission).toEqual({
      Action: 'lambda:InvokeFunction',
      FunctionName: { 'Fn::GetAtt': [id(bouncer.receiptFunction), 'Arn'] },
      Principal: 'ses.amazonaws.com',
      SourceAccount: { Ref: 'AWS::AccountId' },
      SourceArn: {
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:ses:${REGION}:${ACCOUNT}:receipt-rule-set/ses-bouncer:receipt-rule/ses-bouncer`]],
      },
    });
    // SES checks the permission when the rule is created.
    synth.template.hasResource('AWS::SES::ReceiptRule', { DependsOn: Match.arrayWith([permissions[0]]) });
  });

  test('activation custom resource runs after the rule and rule set exist', () => {
    synth.template.hasResource('Custom::SesActiveReceiptRuleSet', {
      Properties: { RuleSetName: 'ses-bouncer' },
      DependsOn: Match.arrayWith([id(bouncer.rule), id(bouncer.ruleSet)]),
    });
  });
});

describe('least privilege', () => {
  /** Statements of the policies attached to a role. */
  const statementsOf = (role: unknown) =>
    iamStatements(synth.json).filter((s) =>
      (synth.json.Resources[s.owner]!.Properties.Roles ?? []).some((r: { Ref?: string }) => r.Ref === id(role as never)),
    );

  test('no action with a wildcard anywhere; Resource "*" only for the rule set activation', () => {
    const statements = iamStatements(synth.json);
    expect(statements.length).toBeGreaterThan(0);
    for (const statement of statements) for (const action of actions(statement)) expect(action).not.toContain('*');
    const starResources = statements.filter((s) => JSON.stringify(s.Resource).includes('"*"'));
    expect(starResources.map((s) => actions(s)).flat().sort()).toEqual(['ses:DescribeActiveReceiptRuleSet', 'ses:SetActiveReceiptRuleSet']);
  });

  test('no managed policies on any role', () => {
    for (const role of logicalIds(synth.json, 'AWS::IAM::Role')) expect(synth.json.Resources[role]!.Properties.ManagedPolicyArns).toBeUndefined();
  });

  test('receipt: its log group, the quota and tombstone writes and their read-back, SendMessage on the queue; no SES', () => {
    const statements = statementsOf(bouncer.receiptFunction.role);
    const byAction = Object.fromEntries(statements.flatMap((s) => actions(s).map((a) => [a, resolve(s.Resource)])));
    expect(Object.keys(byAction).sort()).toEqual(
      ['dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem', 'logs:CreateLogStream', 'logs:PutLogEvents', 'sqs:SendMessage'].sort(),
    );
    expect(byAction['dynamodb:PutItem']).toEqual([{ 'Fn::GetAtt': [id(bouncer.table), 'Arn'] }]);
    expect(byAction['sqs:SendMessage']).toEqual({ 'Fn::GetAtt': [id(bouncer.queue), 'Arn'] });
  });

  test('delivery: SendBounce on the bounce identity only, Query/UpdateItem, queue consumption, SendMessage to its two queues only', () => {
    const statements = statementsOf(bouncer.deliveryFunction.role);
    const all = statements.flatMap(actions);
    const sendMessage = statements.filter((s) => actions(s).includes('sqs:SendMessage')).map((s) => resolve(s.Resource));
    expect(sendMessage).toEqual(
      expect.arrayContaining([{ 'Fn::GetAtt': [id(bouncer.queue), 'Arn'] }, { 'Fn::GetAtt': [id(bouncer.deadLetterQueue), 'Arn'] }]),
    );
    expect(sendMessage).toHaveLength(2);
    expect(all.filter((a) => a.startsWith('dynamodb:')).sort()).toEqual(['dynamodb:Query', 'dynamodb:UpdateItem']);
    const send = statements.filter((s) => actions(s).includes('ses:SendBounce'));
    expect(send).toHaveLength(1);
    expect(actions(send[0]!)).toEqual(['ses:SendBounce']);
    expect(send[0]!.Resource).toEqual({ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:ses:${REGION}:${ACCOUNT}:identity/example.com`]] });
    expect(all.filter((a) => a.startsWith('ses:'))).toEqual(['ses:SendBounce']);
  });
});

describe('queue', () => {
  test('FIFO, SSE, visibility 6 × delivery timeout, more receives than fit in the 24 h window, a delay past the receipt timeout', () => {
    // 24 h less 5 min at one receive per 360 s visibility timeout: 240 receives, plus 2.
    synth.template.hasResourceProperties('AWS::SQS::Queue', {
      FifoQueue: true,
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 360,
      DelaySeconds: 15,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [id(bouncer.deadLetterQueue), 'Arn'] }, maxReceiveCount: 242 },
    });
    synth.template.hasResourceProperties('AWS::SQS::Queue', { FifoQueue: true, SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    synth.template.hasResourceProperties('AWS::Lambda::Function', {
      Timeout: 60,
      Environment: {
        Variables: Match.objectLike({
          SEND_RATE_PER_SECOND: '1',
          BOUNCE_QUEUE_URL: { Ref: id(bouncer.queue) },
          BOUNCE_DEAD_LETTER_QUEUE_URL: { Ref: id(bouncer.deadLetterQueue) },
        }),
      },
    });
  });

  test('a short delivery timeout still leaves SQS fewer receives to count than its 1,000 maximum', () => {
    const short = queueSettings(10, 10);
    expect(short.maxReceiveCount).toBeLessThanOrEqual(1000);
    expect(short.maxReceiveCount * short.visibilityTimeoutSeconds).toBeGreaterThan(SEND_CUTOFF_MS / 1000);
    expect(short.deliveryDelaySeconds).toBeGreaterThan(10);
  });

  test('both queues deny requests without TLS', () => {
    for (const queue of [bouncer.queue, bouncer.deadLetterQueue]) {
      synth.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [{ Ref: id(queue) }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    }
  });

  test('event source mapping: batches of 10, partial batch responses', () => {
    synth.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [id(bouncer.queue), 'Arn'] },
      FunctionName: { Ref: id(bouncer.deliveryFunction) },
      BatchSize: 10,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });
});

test('ledger table per its contract (docs/delivery.md "Ledger states"), retained', () => {
  synth.template.hasResource('AWS::DynamoDB::Table', {
    DeletionPolicy: 'Retain',
    UpdateReplacePolicy: 'Retain',
    Properties: {
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    },
  });
});

describe('functions', () => {
  test('receipt: arm64, nodejs24.x, 10 s, the handler environment, own log group with retention', () => {
    synth.template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Timeout: 10,
      Handler: 'index.handler',
      LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('ReceiptLogs') } },
      Environment: {
        Variables: {
          BOUNCE_TABLE_NAME: { Ref: id(bouncer.table) },
          BOUNCE_QUEUE_URL: { Ref: id(bouncer.queue) },
          POWERTOOLS_SERVICE_NAME: 'ses-bouncer',
          POWERTOOLS_METRICS_NAMESPACE: 'SesBouncer',
        },
      },
    });
  });

  test('delivery: arm64, nodejs24.x, 60 s, the handler environment', () => {
    synth.template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Timeout: 60,
      LoggingConfig: { LogGroup: { Ref: Match.stringLikeRegexp('DeliveryLogs') } },
      Environment: {
        Variables: {
          BOUNCE_TABLE_NAME: { Ref: id(bouncer.table) },
          SEND_RATE_PER_SECOND: '1',
          BOUNCE_QUEUE_URL: { Ref: id(bouncer.queue) },
          BOUNCE_DEAD_LETTER_QUEUE_URL: { Ref: id(bouncer.deadLetterQueue) },
          POWERTOOLS_SERVICE_NAME: 'ses-bouncer',
          POWERTOOLS_METRICS_NAMESPACE: 'SesBouncer',
        },
      },
    });
  });

  test('every function runs the current Node.js LTS runtime', () => {
    for (const fn of logicalIds(synth.json, 'AWS::Lambda::Function')) expect(synth.json.Resources[fn]!.Properties.Runtime).toBe('nodejs24.x');
  });

  test('every function has a log group with retention', () => {
    const functions = logicalIds(synth.json, 'AWS::Lambda::Function');
    expect(functions).toHaveLength(3); // receipt, delivery, activation
    for (const fn of functions) {
      const group = synth.json.Resources[fn]!.Properties.LoggingConfig.LogGroup.Ref as string;
      expect(synth.json.Resources[group]!.Properties.RetentionInDays).toBe(90);
    }
  });

  test('the validated, self-contained policy is bundled into the receipt asset as policy.json', () => {
    const assetDir = (fn: typeof bouncer.receiptFunction) => {
      const key = synth.json.Resources[id(fn)]!.Properties.Code.S3Key as string;
      return join(synth.assembly.directory, `asset.${key.replace(/\.zip$/, '')}`);
    };
    const receipt = assetDir(bouncer.receiptFunction);
    expect(existsSync(join(receipt, 'index.js'))).toBe(true);
    expect(existsSync(join(receipt, 'index.js.map'))).toBe(true);
    const bundled = JSON.parse(readFileSync(join(receipt, 'policy.json'), 'utf8'));
    expect(bundled).toEqual(JSON.parse(JSON.stringify(loadPolicyFile('examples/policy.yaml').document)));
    // Lists are inlined: the bundle does not need staff.txt.
    expect(JSON.stringify(bundled)).not.toContain('staff.txt');
    expect(existsSync(join(assetDir(bouncer.deliveryFunction), 'policy.json'))).toBe(false);
  });
});

describe('rule set activation', () => {
  test('a custom resource with the rule set, the explicit permission to displace, and a 5-minute service timeout', () => {
    synth.template.hasResourceProperties('Custom::SesActiveReceiptRuleSet', { RuleSetName: 'ses-bouncer', DisplaceActiveRuleSet: 'true', ServiceTimeout: '300' });
  });

  test('its function runs each event once (no asynchronous retries) and outlasts the handler\'s worst case', () => {
    const fn = id(bouncer.activation!.function);
    expect(synth.json.Resources[fn]!.Properties.Timeout * 1000).toBeGreaterThan(WORST_CASE_MS);
    synth.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { FunctionName: { Ref: fn }, MaximumRetryAttempts: 0 });
  });

  test('created after the rule, so that it is deleted (and the previous set restored) before the rule set goes', () => {
    const [activation] = logicalIds(synth.json, 'Custom::SesActiveReceiptRuleSet');
    expect(synth.json.Resources[activation!]!.DependsOn).toEqual(expect.arrayContaining([id(bouncer.rule)]));
  });
});

describe('alarms and dashboard', () => {
  const topic = () => ({ Ref: logicalIds(synth.json, 'AWS::SNS::Topic')[0] });

  // Only this account's alarms in this region, as the service acting for them.
  const fromOurAlarms = {
    StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
    ArnLike: { 'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':cloudwatch:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':alarm:*']] } },
  };

  test('encrypted, TLS-only alarm topic with the e-mail subscription', () => {
    synth.template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    synth.template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com', TopicArn: topic() });
  });

  test('the topic policy lets CloudWatch publish (it replaces SNS\'s default policy), scoped to this account\'s alarms, and denies non-TLS', () => {
    const policies = logicalIds(synth.json, 'AWS::SNS::TopicPolicy');
    expect(policies).toHaveLength(1);
    const policy = synth.json.Resources[policies[0]!]!.Properties;
    expect(policy.Topics).toEqual([topic()]);
    expect(policy.PolicyDocument.Statement).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        { Sid: 'CloudWatchAlarmsPublish', Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: 'sns:Publish', Resource: topic(), Condition: fromOurAlarms },
      ]),
    );
  });

  test('the key lets CloudWatch encrypt for the topic, under the same scoping', () => {
    synth.template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([
          { Sid: 'CloudWatchAlarmsUseTheKey', Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'], Resource: '*', Condition: fromOurAlarms },
        ]),
      },
    });
  });

  test.each([
    ['DLQ not empty', { Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 0, Dimensions: [{ Name: 'QueueName', Value: Match.objectLike({ 'Fn::GetAtt': Match.arrayWith(['QueueName']) }) }] }],
    ['oldest bounce older than 6 h', { Namespace: 'AWS/SQS', MetricName: 'ApproximateAgeOfOldestMessage', Threshold: 6 * 3600 }],
    ['Unknown > 0', { Namespace: 'SesBouncer', MetricName: 'Unknown', Threshold: 0, Dimensions: [{ Name: 'service', Value: 'ses-bouncer' }] }],
    ['Rejected > 0', { Namespace: 'SesBouncer', MetricName: 'Rejected', Threshold: 0, Dimensions: [{ Name: 'service', Value: 'ses-bouncer' }] }],
    ['Errors > 0', { Namespace: 'SesBouncer', MetricName: 'Errors', Threshold: 0, Dimensions: [{ Name: 'service', Value: 'ses-bouncer' }] }],
  ])('%s, notifying the topic', (_name, properties) => {
    synth.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ...properties,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 1,
      AlarmActions: [topic()],
    });
  });

  test('the DLQ alarm watches the dead-letter queue', () => {
    synth.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [id(bouncer.deadLetterQueue), 'QueueName'] } }],
    });
  });

  test('errors and throttles of each function', () => {
    for (const fn of [bouncer.receiptFunction, bouncer.deliveryFunction]) {
      for (const metric of ['Errors', 'Throttles']) {
        synth.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          Namespace: 'AWS/Lambda',
          MetricName: metric,
          Threshold: 0,
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: id(fn) } }],
          AlarmActions: [topic()],
        });
      }
    }
  });

  test('a dashboard of the pipeline metrics and the 24 h window', () => {
    const body = JSON.stringify(resolve(synth.json.Resources[id(bouncer.dashboard!)]!.Properties.DashboardBody));
    for (const metric of ['Sent', 'Guarded', 'Rejected', 'Unknown', 'Throttled', 'Queued', 'ApproximateAgeOfOldestMessage', 'ApproximateNumberOfMessagesVisible']) {
      expect(body).toContain(metric);
    }
    expect(body).toContain(String(24 * 3600));
  });
});

test('cdk-nag AwsSolutions: no unacknowledged finding', () => {
  // app.synth() already throws on an unacknowledged error; warnings do not throw, so read the report.
  const report = JSON.parse(readFileSync(join(synth.assembly.directory, 'validation-report.json'), 'utf8'));
  const violations = report.pluginReports.flatMap((r: { violations?: unknown[] }) => r.violations ?? []);
  expect(violations).toEqual([]);
});
