// Construct validation and prop variants. Bundling is skipped (context aws:cdk:bundling-stacks = []),
// so these synthesize in milliseconds; bundling itself is covered by ses-bouncer.test.ts.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as ses from 'aws-cdk-lib/aws-ses';
import * as sns from 'aws-cdk-lib/aws-sns';
import { appFromContext, bouncerPropsFromContext, unknownContextKeys } from '../../lib/app.js';
import { SesBouncer, type SesBouncerProps } from '../../lib/ses-bouncer.js';

const POLICY = resolve('examples/policy.yaml');
const dir = mkdtempSync(join(tmpdir(), 'ses-bouncer-policies-'));

function stack(): Stack {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  return new Stack(app, 'Test', { env: { account: '111122223333', region: 'eu-west-1' } });
}

function bouncer(props: Partial<SesBouncerProps>): { bouncer: SesBouncer; template: () => Template } {
  const s = stack();
  const b = new SesBouncer(s, 'Bouncer', { recipients: ['example.com'], policy: POLICY, ...props });
  return { bouncer: b, template: () => Template.fromStack(s) };
}

function writePolicy(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('an invalid policy fails synthesis', () => {
  test('naming the file and every problem as path: message', () => {
    const file = writePolicy(
      'broken.yaml',
      [
        'version: 1',
        'bounce: { sender: mailer-daemon@example.com, reportingMta: mx.example.com }',
        'rules:',
        '  - name: a',
        '    when: { recipient: ["not a pattern"] }',
        '    then: bounce',
        '    bounceType: DoesNotExist',
        '  - name: b',
        '    when: { subject: "(" }',
        '    then: bounce',
        '    bounceType: Nope',
        '',
      ].join('\n'),
    );
    let message = '';
    try {
      bouncer({ policy: file });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain(file);
    expect(message).toMatch(/^\s+rules\[0\]\.when\.recipient\[0\]: .+$/m);
    expect(message).toMatch(/^\s+rules\[1\]\.when\.subject: not an RE2 regular expression/m);
    expect(message).toMatch(/^\s+rules\[1\]\.bounceType: must be one of /m);
  });

  test('a missing file names the file', () => {
    const missing = join(dir, 'nope.yaml');
    expect(() => bouncer({ policy: missing })).toThrow(missing);
  });
});

describe('props are validated and each problem names its prop', () => {
  test.each([
    ['missing', undefined],
    ['empty', []],
  ])('recipients %s', (_case, recipients) => {
    expect(() => bouncer({ recipients })).toThrow(/recipients: at least one recipient is required/);
  });

  test('a delivery timeout too short for one attempt at the send rate (every job would wait until it expires)', () => {
    expect(() => bouncer({ deliveryTimeout: Duration.seconds(20) })).toThrow(/deliveryTimeout: must be between 33 s \(one delivery attempt at 1 SendBounce\/s must fit\) and 15 min, got 20 seconds/);
    expect(() => bouncer({ deliveryTimeout: Duration.seconds(33) })).not.toThrow();
    expect(() => bouncer({ sendRatePerSecond: 0.02 })).toThrow(/deliveryTimeout: must be between \d+ s \(one delivery attempt at 0\.02 SendBounce\/s must fit\)/);
  });

  test('blank recipient', () => {
    expect(() => bouncer({ recipients: ['example.com', ' '] })).toThrow(/recipients\[1\]:/);
  });

  test('several problems at once', () => {
    let message = '';
    try {
      bouncer({ recipients: [], sendRatePerSecond: 0, receiptTimeout: Duration.seconds(30), ruleSetName: 'bad name', deliveryTimeout: Duration.seconds(5) });
    } catch (error) {
      message = (error as Error).message;
    }
    for (const prop of ['recipients', 'sendRatePerSecond', 'receiptTimeout', 'ruleSetName', 'deliveryTimeout']) expect(message).toMatch(new RegExp(`^\\s+${prop}: `, 'm'));
  });

  test('bounceIdentityArn that contradicts the policy', () => {
    const file = writePolicy(
      'arn.yaml',
      'version: 1\nbounce: { sender: bounces@example.net, senderArn: "arn:aws:ses:eu-west-1:111122223333:identity/example.net", reportingMta: mx.example.net }\nrules: []\n',
    );
    expect(() => bouncer({ policy: file, bounceIdentityArn: 'arn:aws:ses:eu-west-1:111122223333:identity/other.example' })).toThrow(/bounceIdentityArn: /);
  });
});

describe('bounce identity', () => {
  const sendBounceResource = (template: Template) => {
    const policies = template.findResources('AWS::IAM::Policy');
    const statements = Object.values(policies).flatMap((p) => p.Properties.PolicyDocument.Statement);
    return statements.filter((s) => s.Action === 'ses:SendBounce').map((s) => s.Resource);
  };

  test("derived from the domain of the policy's bounce sender", () => {
    const file = writePolicy('sender.yaml', 'version: 1\nbounce: { sender: Bounces@Mail.Example.NET, reportingMta: mx.example.net }\nrules: []\n');
    const { template } = bouncer({ policy: file });
    expect(sendBounceResource(template())).toEqual([{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ses:eu-west-1:111122223333:identity/mail.example.net']] }]);
  });

  test("the policy's bounce.senderArn when set", () => {
    const arn = 'arn:aws:ses:eu-west-1:444455556666:identity/example.net';
    const file = writePolicy('sender-arn.yaml', `version: 1\nbounce: { sender: bounces@example.net, senderArn: "${arn}", reportingMta: mx.example.net }\nrules: []\n`);
    expect(sendBounceResource(bouncer({ policy: file }).template())).toEqual([arn]);
  });

  test('the bounceIdentityArn prop', () => {
    const arn = 'arn:aws:ses:eu-west-1:111122223333:identity/mailer-daemon@example.com';
    expect(sendBounceResource(bouncer({ bounceIdentityArn: arn }).template())).toEqual([arn]);
  });
});

describe('variants', () => {
  test('existing rule set by name, after a rule, TLS required; no rule set or activation created', () => {
    const { template } = bouncer({ ruleSetName: 'inbound', existingRuleSet: true, after: 'archive', ruleName: 'bouncer', tlsPolicy: ses.TlsPolicy.REQUIRE });
    const t = template();
    t.resourceCountIs('AWS::SES::ReceiptRuleSet', 0);
    t.resourceCountIs('Custom::SesActiveReceiptRuleSet', 0);
    t.hasResourceProperties('AWS::SES::ReceiptRule', { RuleSetName: 'inbound', After: 'archive', Rule: Match.objectLike({ Name: 'bouncer', TlsPolicy: 'Require' }) });
    t.hasResourceProperties('AWS::Lambda::Permission', {
      SourceArn: { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ses:eu-west-1:111122223333:receipt-rule-set/inbound:receipt-rule/bouncer']] },
    });
  });

  test('existing rule set activated', () => {
    const t = bouncer({ ruleSetName: 'inbound', existingRuleSet: true, activateRuleSet: true }).template();
    t.hasResourceProperties('Custom::SesActiveReceiptRuleSet', { RuleSetName: 'inbound' });
  });

  test('a provided alarm topic; table removal policy; send rate; timeouts', () => {
    const s = stack();
    const topic = new sns.Topic(s, 'Ops', { enforceSSL: true });
    new SesBouncer(s, 'Bouncer', {
      recipients: ['example.com'],
      policy: POLICY,
      alarmTopic: topic,
      tableRemovalPolicy: RemovalPolicy.DESTROY,
      sendRatePerSecond: 2.5,
      deliveryTimeout: Duration.seconds(120),
      receiptTimeout: Duration.seconds(20),
    });
    const t = Template.fromStack(s);
    t.resourceCountIs('AWS::SNS::Topic', 1);
    t.resourceCountIs('AWS::KMS::Key', 0);
    t.allResourcesProperties('AWS::CloudWatch::Alarm', { AlarmActions: [{ Ref: s.getLogicalId(topic.node.defaultChild as never) }] });
    t.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Delete' });
    t.hasResourceProperties('AWS::Lambda::Function', { Timeout: 120, Environment: { Variables: Match.objectLike({ SEND_RATE_PER_SECOND: '2.5' }) } });
    t.hasResourceProperties('AWS::Lambda::Function', { Timeout: 20 });
    t.hasResourceProperties('AWS::SQS::Queue', { VisibilityTimeout: 720 });
  });

  test('warns at synth about a policy rule whose recipients SES never passes to the function', () => {
    const s = stack();
    new SesBouncer(s, 'Bouncer', { recipients: ['example.com'], policy: resolve('examples/policy.yaml') });
    const warnings = Annotations.fromStack(s).findWarning('*', Match.stringLikeRegexp('can never match'));
    // example.com takes that domain only: the subdomains the example policy decides about never reach the function.
    expect(warnings.map((w) => (w.entry.data as string).replace(/ Add its domain.*$/, ''))).toEqual([
      'rules[0].when.recipient[0] (lists.staff[5]): *@*.eng.example.com can never match: no receipt rule recipient (example.com) lets SES pass such an address to the function.',
      'rules[1].when.recipient[0]: *@old.example.com can never match: no receipt rule recipient (example.com) lets SES pass such an address to the function.',
      'rules[1].when.recipient[1]: *@*.old.example.com can never match: no receipt rule recipient (example.com) lets SES pass such an address to the function.',
    ]);
    const covered = stack();
    new SesBouncer(covered, 'Bouncer', { recipients: ['example.com', '.example.com'], policy: resolve('examples/policy.yaml') });
    expect(Annotations.fromStack(covered).findWarning('*', Match.stringLikeRegexp('can never match'))).toEqual([]);
  });

  test('no topic: alarms exist without actions', () => {
    const t = bouncer({}).template();
    t.resourceCountIs('AWS::SNS::Topic', 0);
    t.resourceCountIs('AWS::CloudWatch::Alarm', 11);
    t.allResourcesProperties('AWS::CloudWatch::Alarm', { AlarmActions: Match.absent() });
  });
});

describe('cdk.json context', () => {
  const context = (values: Record<string, unknown>) => (key: string) => values[key];

  test('defaults come from examples/ and the domain, its subdomains included', () => {
    const props = bouncerPropsFromContext(context({}), '/repo');
    expect(props).toMatchObject({
      recipients: ['example.com', '.example.com'],
      policy: '/repo/examples/policy.yaml',
      ruleSetName: 'ses-bouncer',
      existingRuleSet: false,
      activateRuleSet: false,
      sendRatePerSecond: 1,
      tableRemovalPolicy: RemovalPolicy.RETAIN,
    });
  });

  test('command-line strings: comma-separated recipients, booleans, numbers', () => {
    const props = bouncerPropsFromContext(
      context({ recipients: 'a@example.com, example.org', activateRuleSet: 'true', existingRuleSet: 'false', sendRatePerSecond: '3', tlsPolicy: 'Require' }),
      '/repo',
    );
    expect(props).toMatchObject({ recipients: ['a@example.com', 'example.org'], activateRuleSet: true, existingRuleSet: false, sendRatePerSecond: 3, tlsPolicy: ses.TlsPolicy.REQUIRE });
  });

  // Each setting by the name the app reads, and the prop it becomes.
  test.each([
    ['domain', 'example.org', { recipients: ['example.org', '.example.org'] }],
    ['recipients', ['a@example.org'], { recipients: ['a@example.org'] }],
    ['policyFile', 'other.yaml', { policy: '/repo/other.yaml' }],
    ['ruleSetName', 'inbound', { ruleSetName: 'inbound' }],
    ['ruleName', 'bouncer', { ruleName: 'bouncer' }],
    ['existingRuleSet', true, { existingRuleSet: true }],
    ['activateRuleSet', true, { activateRuleSet: true }],
    ['displaceActiveRuleSet', true, { displaceActiveRuleSet: true }],
    ['after', 'archive', { after: 'archive' }],
    ['tlsPolicy', 'Require', { tlsPolicy: ses.TlsPolicy.REQUIRE }],
    ['sendRatePerSecond', 2, { sendRatePerSecond: 2 }],
    ['alarmEmail', 'ops@example.org', { alarmEmail: 'ops@example.org' }],
    ['bounceIdentityArn', 'arn:aws:ses:eu-west-1:111122223333:identity/example.org', { bounceIdentityArn: 'arn:aws:ses:eu-west-1:111122223333:identity/example.org' }],
    ['tableRemovalPolicy', 'destroy', { tableRemovalPolicy: RemovalPolicy.DESTROY }],
  ])('context %s', (key, value, expected) => {
    expect(bouncerPropsFromContext(context({ [key]: value }), '/repo')).toMatchObject(expected);
  });

  test('every key cdk.json sets is one the app reads, and an unknown one is named (policy for policyFile)', () => {
    const cdkJson = JSON.parse(readFileSync('cdk.json', 'utf8'));
    expect(unknownContextKeys(Object.keys(cdkJson.context))).toEqual([]);
    expect(unknownContextKeys(['policy', 'policyFile', '@aws-cdk/core:newStyleStackSynthesis', 'aws:cdk:bundling-stacks'])).toEqual(['policy']);
    expect(() => appFromContext({ outdir: mkdtempSync(join(tmpdir(), 'ctx-')), context: { policy: 'examples/policy.yaml' } })).toThrow(/context policy: not a setting/);
  });

  test("the CDK CLI's own keys pass (cdk acknowledge writes acknowledged-issue-numbers into cdk.context.json); a typo given with -c is named", () => {
    const outdir = () => mkdtempSync(join(tmpdir(), 'ctx-'));
    expect(() => appFromContext({ outdir: outdir(), nag: false, context: { 'acknowledged-issue-numbers': [34892], 'aws:cdk:bundling-stacks': [] } })).not.toThrow();
    const before = process.env['CDK_CONTEXT_JSON'];
    process.env['CDK_CONTEXT_JSON'] = JSON.stringify({ polcyFile: 'examples/policy.yaml' });
    try {
      expect(() => appFromContext({ outdir: outdir(), nag: false })).toThrow(/context polcyFile: not a setting/);
    } finally {
      if (before === undefined) delete process.env['CDK_CONTEXT_JSON'];
      else process.env['CDK_CONTEXT_JSON'] = before;
    }
  });

  test('bad values name their key', () => {
    expect(() => bouncerPropsFromContext(context({ activateRuleSet: 'yes', sendRatePerSecond: 'fast', recipients: 5 }))).toThrow(/context activateRuleSet: /);
    expect(() => bouncerPropsFromContext(context({ recipients: 5 }))).toThrow(/context recipients: /);
    expect(() => bouncerPropsFromContext(context({ sendRatePerSecond: 'fast' }))).toThrow(/context sendRatePerSecond: /);
  });
});
