// cfn-lint, the CloudFormation linter, on every synthesized variant: no error, and no warning but
// the ones below, each accepted for its reason. Runs when `cfn-lint` is on PATH (CI has it).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { appFromContext } from '../../lib/app.js';
import { synthesize, tempOutdir } from './support.js';

interface Finding {
  readonly Level: 'Error' | 'Warning' | 'Informational';
  readonly Message: string;
  readonly Rule: { readonly Id: string };
  readonly Location: { readonly Path: readonly (string | number)[] };
}

/** Warnings accepted, by rule id, each with why. */
const ACCEPTED: Readonly<Record<string, string>> = {
  // CDK adds an explicit DependsOn on a function's role and its default policy besides the
  // GetAtt of the role: the policy must exist before the function runs, which the GetAtt alone
  // does not ensure, so the role's half of it is redundant but harmless.
  W3005: "a function's DependsOn on its role, which its GetAtt already implies: CDK writes it with the needed one on the role's policy",
};

const hasCfnLint = spawnSync('cfn-lint', ['--version'], { encoding: 'utf8' }).status === 0;
const cdkJson = JSON.parse(readFileSync('cdk.json', 'utf8'));

/** A policy whose accept needs two receipt rules (150 addresses and a subdomain pattern). */
function severalRulesPolicy(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cfn-lint-accept-'));
  writeFileSync(join(dir, 'mailboxes.txt'), Array.from({ length: 150 }, (_, i) => `user${i}@example.com`).join('\n'));
  const file = join(dir, 'policy.yaml');
  writeFileSync(
    file,
    'version: 1\nbounce: { sender: mailer-daemon@example.com, reportingMta: mx.example.com }\nlists:\n  mailboxes: { file: mailboxes.txt }\n' +
      'accept: ["@list:mailboxes", "*@*.lab.example.com"]\nrules:\n  - { name: former, when: { recipient: user1@example.com }, then: bounce, bounceType: DoesNotExist }\n',
  );
  return file;
}

const VARIANTS: Readonly<Record<string, Record<string, unknown>>> = {
  'the defaults (cdk.json as cloned)': cdkJson.context,
  'alarm e-mail and activation displacing the active set': {
    ...cdkJson.context,
    account: '111122223333',
    region: 'eu-west-1',
    alarmEmail: 'ops@example.com',
    activateRuleSet: true,
    displaceActiveRuleSet: true,
  },
  'an existing rule set, after another rule, activated': {
    ...cdkJson.context,
    ruleSetName: 'inbound',
    existingRuleSet: true,
    after: 'archive',
    activateRuleSet: true,
    tlsPolicy: 'Require',
  },
  'an accept policy of two receipt rules, with alarm e-mail': {
    ...cdkJson.context,
    policyFile: severalRulesPolicy(),
    alarmEmail: 'ops@example.com',
  },
};

if (hasCfnLint) {
  describe('cfn-lint', () => {
    test.each(Object.entries(VARIANTS))('%s: no error, no warning but the accepted ones', (_name, context) => {
      const { app, stack } = appFromContext({ outdir: tempOutdir(), context, nag: false });
      const synth = synthesize(app, stack);
      const template = synth.assembly.getStackArtifact(stack.artifactId).templateFullPath;
      const lint = spawnSync('cfn-lint', ['--format', 'json', template], { encoding: 'utf8' });
      // 0: clean; 4: warnings; 2, 6: errors (with or without warnings); anything else: cfn-lint failed.
      expect([0, 2, 4, 6, 8, 10, 12, 14]).toContain(lint.status);
      const findings = JSON.parse(lint.stdout || '[]') as Finding[];
      const unexpected = findings
        .filter((f) => f.Level !== 'Informational' && !(f.Level === 'Warning' && ACCEPTED[f.Rule.Id] !== undefined))
        .map((f) => `${f.Level} ${f.Rule.Id} at ${f.Location.Path.join('/')}: ${f.Message}`);
      expect(unexpected).toEqual([]);
    });
  });
} else {
  // Skipped, never silently passed: the reason is printed too.
  const reason = 'cfn-lint not on PATH: the CloudFormation lint of the synthesized templates is skipped (CI has it)';
  console.warn(reason);
  test.skip(reason, () => {});
}
