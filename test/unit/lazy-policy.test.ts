// The receipt Lambda's policy loader initialises the YAML parser and the RE2 engine only when the
// policy needs them. This file imports only the compiler, never policy.ts (which loads both).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicyFileLazily } from '../../lambda/core/policy-compiler.js';
import { compileRegex } from '../../lambda/core/regex.js';

const dir = mkdtempSync(join(tmpdir(), 'lazy-policy-'));
const bounce = { sender: 'mailer-daemon@example.com', reportingMta: 'mx.example.com' };
function policyFile(name: string, content: object | string): string {
  const file = join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

describe('loadPolicyFileLazily (the receipt Lambda)', () => {
  it('compiles a JSON policy without regexes and leaves the RE2 engine unloaded', async () => {
    const policy = await loadPolicyFileLazily(policyFile('plain.json', { version: 1, bounce, rules: [{ name: 'gone', when: { recipient: '*@example.com' }, then: 'bounce', bounceType: 'DoesNotExist' }] }));
    expect(policy.rules).toHaveLength(1);
    expect(() => compileRegex('a')).toThrow(/RE2 engine is not loaded/);
  });

  it('loads the RE2 engine for a policy with a nested regex condition, and validates it', async () => {
    const policy = await loadPolicyFileLazily(policyFile('regex.json', { version: 1, bounce, rules: [{ name: 'r', when: { any: [{ header: { 'X-Spam': '^yes$' } }] }, then: 'drop' }] }));
    expect(policy.rules[0]!.messageTest).toBeDefined();
    expect(compileRegex('(?i)x').test('X')).toBe(true);
    await expect(loadPolicyFileLazily(policyFile('bad.json', { version: 1, bounce, rules: [{ name: 'r', when: { subject: '(' }, then: 'drop' }] }))).rejects.toMatchObject({
      issues: [{ path: 'rules[0].when.subject', message: expect.stringMatching(/^not an RE2 regular expression/) }],
    });
  });

  it('reads a YAML policy, loading the YAML parser on demand', async () => {
    const policy = await loadPolicyFileLazily(policyFile('policy.yaml', `version: 1\nbounce: { sender: m@example.com, reportingMta: mx.example.com }\nrules:\n  - { name: all, then: drop }\n`));
    expect(policy.rules[0]!.then).toBe('drop');
  });
});
