// `npx cdk synth` as cloned: the app from cdk.json's context, cdk-nag's AwsSolutions pack included.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { appFromContext } from '../../lib/app.js';
import { logicalIds, synthesize, tempOutdir, type Synthesized } from './support.js';
import { SynthesisMessageLevel } from 'aws-cdk-lib/cx-api';

const cdkJson = JSON.parse(readFileSync('cdk.json', 'utf8'));
const { app, stack } = appFromContext({ outdir: tempOutdir(), context: cdkJson.context });
let synth: Synthesized;

beforeAll(() => {
  // Throws on any unacknowledged cdk-nag error.
  synth = synthesize(app, stack);
});

test('the shipped settings deploy what the example policy decides: no rule names addresses SES would never pass on', () => {
  const warnings = synth.assembly.getStackArtifact(stack.artifactId).messages.filter((m) => m.level === SynthesisMessageLevel.WARNING);
  expect(warnings).toEqual([]);
});

test('cdk.json runs the app with tsx', () => {
  expect(cdkJson.app).toMatch(/tsx bin\/app\.ts/);
});

test('cdk-nag AwsSolutions: no unacknowledged finding, errors or warnings', () => {
  const report = JSON.parse(readFileSync(join(synth.assembly.directory, 'validation-report.json'), 'utf8'));
  expect(report.pluginReports.flatMap((r: { violations?: unknown[] }) => r.violations ?? [])).toEqual([]);
});

test('the defaults: the examples policy, example.com, a new inactive rule set, no alarm topic', () => {
  synth.template.hasResourceProperties('AWS::SES::ReceiptRule', { Rule: { Recipients: ['example.com', '.example.com'], ScanEnabled: true } });
  synth.template.hasResourceProperties('AWS::SES::ReceiptRuleSet', { RuleSetName: 'ses-bouncer' });
  expect(logicalIds(synth.json, 'Custom::SesActiveReceiptRuleSet')).toEqual([]);
  expect(logicalIds(synth.json, 'AWS::SNS::Topic')).toEqual([]);
  expect(JSON.parse(stack.bouncer.policy.json).bounce.sender).toBe('mailer-daemon@example.com');
});
