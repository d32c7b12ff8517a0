// One message whose recipients span two of the receipt rules `accept` needs, run through the
// synthesized rules by a model of SES's rule evaluation (test/support/ses-rule-set.ts) and the
// real receipt and delivery use-cases (dynalite, local SES endpoint). Every recipient SES
// accepts must be decided exactly once, by its own rule; a rule's delivery actions run unless
// none of its recipients is delivered (SES acts on the message once per rule, docs/refusal.md "Several rules"
// dispositions), and no rule's answer stops another rule.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sesActions from 'aws-cdk-lib/aws-ses-actions';
import { loadPolicyFile } from '../../lambda/app/policy-loader.js';
import { SesBouncer } from '../../lib/ses-bouncer.js';
import { recentEvent, startPipeline, type Pipeline } from '../support/pipeline.js';
import { SimulatedRuleSet, type SmtpOutcome } from '../support/ses-rule-set.js';
import { rulesInOrder } from './support.js';
import { receive } from '../../lambda/app/receive.js';

const dir = mkdtempSync(join(tmpdir(), 'ses-rules-'));
const users = Array.from({ length: 150 }, (_, i) => `user${i}@example.com`);
writeFileSync(join(dir, 'mailboxes.txt'), users.join('\n'));
writeFileSync(
  join(dir, 'policy.yaml'),
  `version: 1
bounce: { sender: mailer-daemon@example.com, reportingMta: mx.example.com }
lists:
  mailboxes: { file: mailboxes.txt }
  gone: [user3@example.com, user149@example.com]
accept: ["@list:mailboxes"]
rules:
  - { name: gone, when: { recipient: "@list:gone" }, then: bounce, bounceType: DoesNotExist }
default: deliver
`,
);
const policyFile = join(dir, 'policy.yaml');

/** The deployment as synthesized: its rules, and the receipt function's STOP_DISPOSITION. */
function synthesize(): { ruleSet: SimulatedRuleSet; stopDisposition: 'STOP_RULE' | 'STOP_RULE_SET' } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'Test', { env: { account: '111122223333', region: 'eu-west-1' } });
  const bucket = new s3.Bucket(stack, 'Mail');
  new SesBouncer(stack, 'Bouncer', { policy: policyFile, actions: [new sesActions.S3({ bucket })] });
  const template = Template.fromStack(stack);
  const functions = Object.values(template.findResources('AWS::Lambda::Function')).map((f: any) => f.Properties.Environment?.Variables ?? {});
  const stopDisposition = functions.find((variables) => variables.STOP_DISPOSITION !== undefined)!.STOP_DISPOSITION;
  return { ruleSet: SimulatedRuleSet.fromTemplate(rulesInOrder(template)), stopDisposition };
}

let pipeline: Pipeline;
const deployment = synthesize();

beforeAll(async () => {
  pipeline = await startPipeline(loadPolicyFile(policyFile));
});
afterAll(() => pipeline.close());

/** One message through SES's rules and the real use-case; what each recipient came to. */
async function send(rcptTo: string[], stopDisposition = deployment.stopDisposition): Promise<SmtpOutcome & { decided: Map<string, string[]> }> {
  const event = recentEvent({ recipients: rcptTo });
  const decided = new Map<string, string[]>();
  const outcome = await deployment.ruleSet.receive(rcptTo, (recipients) => {
    const record = structuredClone(event.Records[0]) as { ses: { receipt: { recipients: readonly string[] } } };
    record.ses.receipt.recipients = recipients;
    return receive({ Records: [record] }, pipeline.receiptDeps({ stopDisposition, onDecision: (d) => d.recipients.forEach((r) => decided.set(r.address, [...(decided.get(r.address) ?? []), r.action])) }));
  });
  await pipeline.drain();
  return { ...outcome, decided };
}

const delivered = (outcome: SmtpOutcome) => outcome.deliveries.flatMap((d) => d.recipients);
const bounced = (from: number) => pipeline.ses.accepted.slice(from).flatMap((a) => a.request.BouncedRecipientInfoList.map((r) => r.Recipient));

describe('a message whose recipients span two receipt rules', () => {
  test('the deployment has two rules and answers STOP_RULE', () => {
    expect(deployment.stopDisposition).toBe('STOP_RULE');
  });

  test('both rules decide their own recipients; bounced ones are not delivered, delivered ones are, refused ones never arrive', async () => {
    const before = pipeline.ses.accepted.length;
    // user3 is in the first rule, user120 and user149 in the second; nobody is in none.
    const outcome = await send(['user3@example.com', 'user120@example.com', 'nobody@example.com', 'user149@example.com']);
    expect(outcome.refused).toEqual(['nobody@example.com']);
    expect(outcome.invocations).toEqual([
      { rule: 'ses-bouncer', recipients: ['user3@example.com'] },
      { rule: 'ses-bouncer-2', recipients: ['user120@example.com', 'user149@example.com'] },
    ]);
    expect(Object.fromEntries(outcome.decided)).toEqual({ 'user3@example.com': ['bounce'], 'user120@example.com': ['deliver'], 'user149@example.com': ['bounce'] });
    // The first rule stops itself: its S3 action does not run. The second delivers user120, so its
    // S3 action runs, with that rule's recipients (user149 is bounced all the same, docs/refusal.md "Several rules").
    expect(outcome.deliveries).toEqual([{ rule: 'ses-bouncer-2', action: 'S3Action', recipients: ['user120@example.com', 'user149@example.com'] }]);
    expect(bounced(before).sort()).toEqual(['user149@example.com', 'user3@example.com']);
  });

  test('a first rule that delivers does not keep the second from bouncing', async () => {
    const before = pipeline.ses.accepted.length;
    const outcome = await send(['user5@example.com', 'user149@example.com']);
    expect(Object.fromEntries(outcome.decided)).toEqual({ 'user5@example.com': ['deliver'], 'user149@example.com': ['bounce'] });
    expect(delivered(outcome)).toEqual(['user5@example.com']);
    expect(bounced(before)).toEqual(['user149@example.com']);
  });

  test("with STOP_RULE_SET (one rule stopping the set), the second rule's recipients would be neither decided nor delivered", async () => {
    const outcome = await send(['user3@example.com', 'user120@example.com'], 'STOP_RULE_SET');
    expect(outcome.invocations.map((i) => i.rule)).toEqual(['ses-bouncer']);
    expect(outcome.decided.has('user120@example.com')).toBe(false);
    expect(delivered(outcome)).not.toContain('user120@example.com');
  });
});
