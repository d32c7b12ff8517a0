// The functions' assets: the prebuilt bundles, and the receipt function's policy.json staged with
// its bundle inside the cloud assembly. An earlier version staged the policy through fixed paths
// in the system's temporary directory, where a concurrent synth of the same policy could truncate
// the file between the hash and the copy and leave a corrupt asset cached under the right hash;
// the next used CDK's bundling, which left the asset world-writable and, when CDK skipped
// bundling for the stack, recorded the bundle without policy.json under the real hash.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as logs from 'aws-cdk-lib/aws-logs';
import { SesBouncer } from '../../lib/ses-bouncer.js';
import { BundledFunction } from '../../lib/bundled-function.js';
import { loadPolicyFile } from '../../lambda/app/policy-loader.js';
import { tempOutdir } from './support.js';

const POLICY = (text: string) =>
  `version: 1\nbounce: { sender: mailer-daemon@example.com, reportingMta: mx.example.com }\nrules:\n  - name: ${text}\n    when: { recipient: ['*@old.example.com'] }\n    then: bounce\n    bounceType: DoesNotExist\n`;

function policyFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'ses-bouncer-assets-policy-')), 'policy.yaml');
  writeFileSync(file, POLICY(text));
  return file;
}

/** Synthesizes stacks each with a SesBouncer of the given policy; gives each receipt and delivery asset directory. */
function synth(policies: string[], outdir = tempOutdir(), context: Record<string, unknown> = {}) {
  const app = new App({ outdir, context });
  const stacks = policies.map((policy, i) => {
    const stack = new Stack(app, `S${i}`, { env: { account: '111122223333', region: 'eu-west-1' } });
    return { stack, bouncer: new SesBouncer(stack, 'Bouncer', { policy, recipients: ['example.com'] }) };
  });
  const assembly = app.synth();
  return stacks.map(({ stack, bouncer }) => {
    const json = JSON.parse(readFileSync(assembly.getStackArtifact(stack.artifactId).templateFullPath, 'utf8'));
    const asset = (fn: typeof bouncer.receiptFunction) => {
      const key = json.Resources[stack.getLogicalId(fn.node.defaultChild as never)].Properties.Code.S3Key as string;
      return join(assembly.directory, `asset.${key.replace(/\.zip$/, '')}`);
    };
    return { receipt: asset(bouncer.receiptFunction), delivery: asset(bouncer.deliveryFunction) };
  });
}

describe('function assets', () => {
  test('nothing is written outside the cloud assembly: no shared file a concurrent synth could rewrite', () => {
    // In a child process: core modules read the real environment, not Jest's copy of it.
    const scratch = mkdtempSync(join(tmpdir(), 'ses-bouncer-tmpdir-'));
    const script = join(mkdtempSync(join(tmpdir(), 'ses-bouncer-assets-script-')), 'synth.mts');
    writeFileSync(
      script,
      [
        `import cdk from ${JSON.stringify(join(process.cwd(), 'node_modules', 'aws-cdk-lib', 'index.js'))};`,
        `const { App, Stack } = cdk;`,
        `import { SesBouncer } from ${JSON.stringify(join(process.cwd(), 'lib', 'ses-bouncer.ts'))};`,
        `const app = new App({ outdir: ${JSON.stringify(tempOutdir())} });`,
        `new SesBouncer(new Stack(app, 'S'), 'Bouncer', { policy: ${JSON.stringify(policyFile('a'))}, recipients: ['example.com'] });`,
        `app.synth();`,
      ].join('\n'),
    );
    const run = spawnSync(process.execPath, ['--import', 'tsx', script], { cwd: process.cwd(), env: { ...process.env, TMPDIR: scratch }, encoding: 'utf8' });
    expect(run.status).toBe(0);
    // tsx keeps its compile cache there; nothing else may be.
    expect(readdirSync(scratch).filter((name) => !name.startsWith('tsx-'))).toEqual([]);
  });

  test("the receipt asset is the bundle and the policy's JSON, written from memory; the delivery asset is the bundle alone", () => {
    const policy = policyFile('a');
    const [{ receipt, delivery }] = synth([policy]) as [{ receipt: string; delivery: string }];
    expect(readdirSync(receipt).sort()).toEqual(['index.js', 'index.js.map', 'policy.json']);
    expect(readFileSync(join(receipt, 'policy.json'), 'utf8')).toBe(JSON.stringify(loadPolicyFile(policy).document));
    expect(readdirSync(delivery).sort()).toEqual(['index.js', 'index.js.map']);
  });

  test('the staged asset is complete and the same when CDK skips bundling for the stack (cdk ls, cdk deploy -e Other)', () => {
    const policy = policyFile('a');
    const [bundled] = synth([policy]);
    const [skipped] = synth([policy], tempOutdir(), { 'aws:cdk:bundling-stacks': ['SomeOtherStack'] });
    expect(skipped!.receipt.split('asset.')[1]).toBe(bundled!.receipt.split('asset.')[1]);
    expect(readdirSync(skipped!.receipt).sort()).toEqual(['index.js', 'index.js.map', 'policy.json']);
  });

  test('no asset directory is writable by others: a later synth reuses it as it is', () => {
    const [{ receipt, delivery }] = synth([policyFile('a')]) as [{ receipt: string; delivery: string }];
    for (const dir of [receipt, delivery]) {
      expect(statSync(dir).mode & 0o022).toBe(0);
      for (const name of readdirSync(dir)) expect(statSync(join(dir, name)).mode & 0o022).toBe(0);
    }
  });

  test('the same policy makes the same asset; another policy another receipt asset, and the same delivery asset', () => {
    const [a1] = synth([policyFile('a')]);
    const [a2] = synth([policyFile('a')]);
    const [b] = synth([policyFile('b')]);
    const name = (dir: string) => dir.split('asset.')[1];
    expect(name(a2!.receipt)).toBe(name(a1!.receipt));
    expect(name(b!.receipt)).not.toBe(name(a1!.receipt));
    expect(name(b!.delivery)).toBe(name(a1!.delivery));
  });

  test('two bouncers with different policies in one app: each receipt function gets its own policy', () => {
    const [a, b] = synth([policyFile('first'), policyFile('second')]);
    expect(JSON.parse(readFileSync(join(a!.receipt, 'policy.json'), 'utf8')).rules[0].name).toBe('first');
    expect(JSON.parse(readFileSync(join(b!.receipt, 'policy.json'), 'utf8')).rules[0].name).toBe('second');
  });

  test('an added file must be a plain name that does not replace a file of the bundle', () => {
    const props = { handler: 'receipt', description: 'd', roleDescription: 'r', memorySize: 128, timeout: Duration.seconds(3), logRetention: logs.RetentionDays.ONE_DAY } as const;
    for (const name of ['index.js', '../policy.json', 'a/b.json', '..']) {
      expect(() => new BundledFunction(new Stack(), 'F', { ...props, files: { [name]: '{}' } })).toThrow(/BundledFunction files: .* must be a plain file name not in the bundle/);
    }
  });
});
