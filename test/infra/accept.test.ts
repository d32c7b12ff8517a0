// The construct with a policy that has `accept`: the receipt rules list exactly what it compiles
// to, cut at SES's per-rule quota. Bundling is skipped (context aws:cdk:bundling-stacks = []).
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sesActions from 'aws-cdk-lib/aws-ses-actions';
import { appFromContext, bouncerPropsFromContext } from '../../lib/app.js';
import { rulesInOrder, tempOutdir } from './support.js';
import { SesBouncer, type SesBouncerProps } from '../../lib/ses-bouncer.js';
import { SynthesisMessageLevel } from 'aws-cdk-lib/cx-api';

const dir = mkdtempSync(join(tmpdir(), 'ses-bouncer-accept-'));

function acceptPolicy(name: string, accept: readonly string[], files: Record<string, string> = {}): string {
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  const file = join(dir, name);
  writeFileSync(
    file,
    [
      'version: 1',
      'bounce: { sender: mailer-daemon@example.com, reportingMta: mx.example.com }',
      'lists:',
      '  many: { file: many.txt }',
      `accept: ${JSON.stringify(accept)}`,
      'rules:',
      '  - { name: unknown, when: { recipient: "*@example.com" }, then: bounce, bounceType: DoesNotExist }',
    ].join('\n'),
  );
  return file;
}

function synth(props: Partial<SesBouncerProps> & { policy: string }): { stack: Stack; bouncer: SesBouncer; template: Template } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Test', { env: { account: '111122223333', region: 'eu-west-1' } });
  const bouncer = new SesBouncer(stack, 'Bouncer', props);
  return { stack, bouncer, template: Template.fromStack(stack) };
}

function ruleRef(template: Template, name: string): string {
  return Object.entries(template.findResources('AWS::SES::ReceiptRule')).find(([, resource]: [string, any]) => resource.Properties.Rule.Name === name)![0];
}

const many = (count: number, domain = 'example.com') => Array.from({ length: count }, (_, i) => `user${i}@${domain}`).join('\n');

describe('receipt rules compiled from accept', () => {
  test('one rule listing exactly what accept compiles to, canonical and each once', () => {
    const policy = acceptPolicy('small.yaml', ['Alice@Example.com', 'alice@example.com', 'bob@example.com', '*@*.Lab.Example.com', '*@bücher.example', 'x@gpu.lab.example.com'], { 'many.txt': '' });
    const { template } = synth({ policy });
    template.resourceCountIs('AWS::SES::ReceiptRule', 1);
    template.hasResourceProperties('AWS::SES::ReceiptRule', {
      Rule: { Name: 'ses-bouncer', Recipients: ['alice@example.com', 'bob@example.com', '.lab.example.com', 'xn--bcher-kva.example'] },
    });
    // One rule: STOP_RULE_SET, as without accept.
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ STOP_DISPOSITION: 'STOP_RULE_SET' }) } });
  });

  test("as many rules as SES's 100 recipients per rule need, in order, one after the other, each stopping only itself", () => {
    const policy = acceptPolicy('250.yaml', ['@list:many', '*@*.lab.example.com'], { 'many.txt': many(250) });
    const { template, bouncer, stack } = synth({ policy });
    const rules = rulesInOrder(template);
    expect(rules.map((rule) => [rule.name, rule.recipients.length])).toEqual([
      ['ses-bouncer', 100],
      ['ses-bouncer-2', 100],
      ['ses-bouncer-3', 51],
    ]);
    expect(rules.flatMap((rule) => rule.recipients)).toEqual([...many(250).split('\n'), '.lab.example.com']);
    expect(bouncer.rules).toHaveLength(3);
    expect(bouncer.rule).toBe(bouncer.rules[0]);
    expect(stack.resolve(bouncer.rules[2]!.receiptRuleName)).toEqual({ Ref: ruleRef(template, 'ses-bouncer-3') });
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ STOP_DISPOSITION: 'STOP_RULE' }) } });
    // Every rule invokes the function; SES may invoke it from these rules only.
    for (const rule of rules) expect(rule.actions[0]).toMatchObject({ LambdaAction: { InvocationType: 'RequestResponse' } });
    const sourceArns = Object.values(template.findResources('AWS::Lambda::Permission'))
      .filter((p: any) => p.Properties.Principal === 'ses.amazonaws.com')
      .map((p: any) => JSON.stringify(p.Properties.SourceArn));
    expect(sourceArns).toHaveLength(2);
    expect(sourceArns[0]).toMatch(/receipt-rule-set\/ses-bouncer:receipt-rule\/ses-bouncer"/);
    expect(sourceArns[1]).toMatch(/receipt-rule-set\/ses-bouncer:receipt-rule\/ses-bouncer-\*"/);
  });

  test('every rule waits for the permission that lets SES invoke the function from it', () => {
    const policy = acceptPolicy('perm.yaml', ['@list:many'], { 'many.txt': many(250) });
    const { template } = synth({ policy });
    const permissions = Object.entries(template.findResources('AWS::Lambda::Permission', { Properties: { Principal: 'ses.amazonaws.com' } })).map(([id, p]: [string, any]) => ({ id, arn: JSON.stringify(p.Properties.SourceArn) }));
    for (const [, rule] of Object.entries(template.findResources('AWS::SES::ReceiptRule')) as [string, any][]) {
      const name: string = rule.Properties.Rule.Name;
      const covering = permissions.filter((p) => (name === 'ses-bouncer' ? p.arn.endsWith('receipt-rule/ses-bouncer"]]}') : p.arn.includes('receipt-rule/ses-bouncer-*')));
      expect([name, covering.map((p) => rule.DependsOn?.includes(p.id))]).toEqual([name, [true]]);
    }
  });

  test('in dry-run, the rules list the domains of accept: SES refuses nothing, the function logs what accept would refuse', () => {
    const dir2 = mkdtempSync(join(tmpdir(), 'ses-bouncer-dry-'));
    const file = join(dir2, 'dry.yaml');
    writeFileSync(file, 'version: 1\nmode: dry-run\nbounce: { sender: mailer-daemon@example.com, reportingMta: mx.example.com }\naccept: ["a@example.com", "b@example.com", "*@*.lab.example.com"]\nrules: []\n');
    const { template, stack } = synth({ policy: file });
    template.hasResourceProperties('AWS::SES::ReceiptRule', { Rule: { Recipients: ['example.com', '.lab.example.com'] } });
    expect(Annotations.fromStack(stack).findInfo('*', Match.stringLikeRegexp('^accept in dry-run: the receipt rules list its domains \\(example.com, .lab.example.com\\)'))).toHaveLength(1);
  });

  test('nothing domain-wide in any rule when accept lists addresses only', () => {
    const policy = acceptPolicy('addresses.yaml', ['@list:many'], { 'many.txt': many(150) });
    for (const rule of rulesInOrder(synth({ policy }).template)) {
      for (const recipient of rule.recipients) expect(recipient).toMatch(/^[^@]+@[^@]+$/);
    }
  });

  test('the largest accept that fits: 20,000 recipients in 200 rules', () => {
    const policy = acceptPolicy('max.yaml', ['@list:many'], { 'many.txt': many(20_000) });
    const { template } = synth({ policy });
    template.resourceCountIs('AWS::SES::ReceiptRule', 200);
    expect(() => synth({ policy: acceptPolicy('over.yaml', ['@list:many'], { 'many.txt': many(20_001) }) })).toThrow(
      /accept: compiles to 20001 receipt rule recipients, 201 receipt rules: over SES's quota of 200 rules per rule set/,
    );
  });

  test('an accept that fits only unindented asks for suppressTemplateIndentation, and fits with it', () => {
    const names = Array.from({ length: 20_000 }, (_, i) => `firstname.lastname${i}@example.com`).join('\n');
    const policy = acceptPolicy('indent.yaml', ['@list:many'], { 'many.txt': names });
    expect(() => synth({ policy })).toThrow(/policy: the 20000 receipt rule recipients accept compiles to take about \d+ KB of the indented CloudFormation template, over its 1 MB quota .*: set suppressTemplateIndentation: true on the stack/);
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Unindented', { env: { account: '111122223333', region: 'eu-west-1' }, suppressTemplateIndentation: true });
    expect(() => new SesBouncer(stack, 'Bouncer', { policy })).not.toThrow();
  });

  test("an accept that would not fit CloudFormation's 1 MB template is refused at synth, naming the quota", () => {
    const long = Array.from({ length: 20_000 }, (_, i) => `${'l'.repeat(50)}${i}@${'d'.repeat(40)}.example.com`).join('\n');
    expect(() => synth({ policy: acceptPolicy('long.yaml', ['@list:many'], { 'many.txt': long }) })).toThrow(
      /policy: the 20000 receipt rule recipients accept compiles to take about \d+ KB of the CloudFormation template, over its 1 MB quota/,
    );
  });

  test("the app writes 20,000 accepted addresses in a template under 1 MB (CDK only says it approaches the limit)", () => {
    const names = Array.from({ length: 20_000 }, (_, i) => `firstname.lastname${i}@example.com`).join('\n');
    const policy = acceptPolicy('app-max.yaml', ['@list:many'], { 'many.txt': names });
    const { app, stack } = appFromContext({ outdir: tempOutdir(), context: { policyFile: policy, 'aws:cdk:bundling-stacks': [] }, nag: false });
    const assembly = app.synth();
    const artifact = assembly.getStackArtifact(stack.artifactId);
    expect(statSync(artifact.templateFullPath).size).toBeLessThan(1_000_000);
    expect(artifact.messages.filter((m) => m.level === SynthesisMessageLevel.WARNING).map((m) => (m.entry.data as string))).toEqual([expect.stringMatching(/^Template size is approaching limit: \d+\/1000000\./)]);
  });

  test('the delivery actions run after the Lambda action in every rule', () => {
    const policy = acceptPolicy('actions.yaml', ['@list:many'], { 'many.txt': many(150) });
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Test', { env: { account: '111122223333', region: 'eu-west-1' } });
    const bucket = new s3.Bucket(stack, 'Mail');
    new SesBouncer(stack, 'Bouncer', { policy, actions: [new sesActions.S3({ bucket, objectKeyPrefix: 'inbox/' })] });
    const rules = rulesInOrder(Template.fromStack(stack));
    expect(rules).toHaveLength(2);
    for (const rule of rules) {
      expect(rule.actions.map((action: object) => Object.keys(action)[0])).toEqual(['LambdaAction', 'S3Action']);
      expect(rule.actions[1].S3Action).toMatchObject({ ObjectKeyPrefix: 'inbox/' });
    }
  });

  test('a scheduled audit of the active rule set, allowed to read it and nothing else, and alarms on what it finds', () => {
    const policy = acceptPolicy('alarm.yaml', ['@list:many'], { 'many.txt': many(150) });
    const { template, bouncer } = synth({ policy, ruleSetName: 'inbound', existingRuleSet: true });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ RULE_SET_NAME: 'inbound', RULE_NAMES: 'ses-bouncer,ses-bouncer-2' }) },
      Timeout: 20,
    });
    template.hasResourceProperties('AWS::Events::Rule', { ScheduleExpression: 'rate(5 minutes)', Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('RuleSetAudit'), 'Arn'] } })] });
    template.hasResourceProperties('AWS::IAM::Policy', { PolicyDocument: { Statement: [{ Action: 'ses:DescribeActiveReceiptRuleSet', Effect: 'Allow', Resource: '*' }] } });
    for (const metric of ['AcceptBypassed', 'Refused']) template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: metric, Namespace: 'SesBouncer', Threshold: 0 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmDescription: Match.stringLikeRegexp('^The rule-set audit failed'), MetricName: 'Errors', Namespace: 'AWS/Lambda' });
    expect(bouncer.audit).toBeDefined();
    const without = synth({ policy: resolve('examples/policy.yaml'), recipients: ['example.com'] });
    expect(without.bouncer.audit).toBeUndefined();
    without.template.resourceCountIs('AWS::Events::Rule', 0);
    expect(Object.values(without.template.findResources('AWS::CloudWatch::Alarm')).filter((a: any) => ['Refused', 'AcceptBypassed'].includes(a.Properties.MetricName))).toEqual([]);
  });
});

describe('warnings and errors', () => {
  const warnings = (stack: Stack) => Annotations.fromStack(stack).findWarning('*', Match.anyValue()).map((w) => (w.entry.data as string));

  test('recipients given with accept are ignored, with a warning', () => {
    const { stack, template } = synth({ policy: acceptPolicy('w1.yaml', ['a@example.com'], { 'many.txt': '' }), recipients: ['example.com'] });
    expect(warnings(stack)).toEqual([expect.stringMatching(/^recipients is ignored: the policy has accept/)]);
    template.hasResourceProperties('AWS::SES::ReceiptRule', { Rule: { Recipients: ['a@example.com'] } });
  });

  test('an existing rule set: its other rules must not list the domain', () => {
    const { stack } = synth({ policy: acceptPolicy('w2.yaml', ['a@example.com'], { 'many.txt': '' }), existingRuleSet: true, ruleSetName: 'main' });
    expect(warnings(stack)).toEqual([expect.stringMatching(/^accept: SES refuses an address only if no rule of the active rule set lists it\. The other rules of rule set main must not list/)]);
  });

  test('an existing rule set, several rules and no actions: later rules also run for bounced mail', () => {
    const { stack } = synth({ policy: acceptPolicy('w3.yaml', ['@list:many'], { 'many.txt': many(101) }), existingRuleSet: true, ruleSetName: 'main' });
    expect(warnings(stack)).toContainEqual(expect.stringMatching(/^accept needs 2 receipt rules, so the function stops only its own rule \(STOP_RULE\)/));
  });

  test('without accept, recipients are still required, and the error says accept is the other way', () => {
    expect(() => synth({ policy: resolve('examples/policy.yaml') })).toThrow(/recipients: at least one recipient is required .*or the policy's accept/);
  });

  test('at most 9 actions: SES takes 10 a rule, and the Lambda action is one', () => {
    const policy = acceptPolicy('a10.yaml', ['a@example.com'], { 'many.txt': '' });
    const stop = new sesActions.Stop();
    expect(() => synth({ policy, actions: Array.from({ length: 10 }, () => stop) })).toThrow(/actions: at most 9 \(SES takes 10 actions per receipt rule/);
  });

  test('a rule name that leaves no room for the names of the other rules', () => {
    const policy = acceptPolicy('long.yaml', ['@list:many'], { 'many.txt': many(101) });
    expect(() => synth({ policy, ruleName: 'r'.repeat(63) })).toThrow(/ruleName: "r{63}" leaves no room for the names of the 2 rules accept needs/);
  });
});

describe('cdk-nag with an accept policy of several rules', () => {
  test('no unacknowledged finding', () => {
    const policy = acceptPolicy('nag.yaml', ['@list:many'], { 'many.txt': many(150) });
    const { app, stack } = appFromContext({ outdir: tempOutdir(), context: { policyFile: policy, alarmEmail: 'ops@example.com', 'aws:cdk:bundling-stacks': [] } });
    const assembly = app.synth(); // throws on an unacknowledged cdk-nag error
    const report = JSON.parse(readFileSync(join(assembly.directory, 'validation-report.json'), 'utf8'));
    expect(report.pluginReports.flatMap((r: { violations?: unknown[] }) => r.violations ?? [])).toEqual([]);
    expect(stack.bouncer.rules).toHaveLength(2);
  });
});

describe('cdk.json context with an accept policy', () => {
  test('no recipients in context: none passed, the rules list what accept compiles to', () => {
    const policy = acceptPolicy('ctx.yaml', ['a@example.com'], { 'many.txt': '' });
    const props = bouncerPropsFromContext((key) => ({ policyFile: policy, domain: 'example.com' })[key]);
    expect(props.recipients).toBeUndefined();
    const withoutAccept = bouncerPropsFromContext((key) => ({ domain: 'example.org' })[key]);
    expect(withoutAccept.recipients).toEqual(['example.org', '.example.org']);
  });
});
