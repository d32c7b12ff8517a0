// The receipt Lambda's policy loader initialises the YAML parser and the RE2 engine only when the
// policy needs them, and the core compiles only with the engine it is given.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicyFileLazily, type LazyPolicyParts } from '../../lambda/app/policy-loader-lazy.js';
import { parsePolicyWith } from '../../lambda/core/policy-compiler.js';
import { PolicyError } from '../../lambda/core/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'lazy-policy-'));
const bounce = { sender: 'mailer-daemon@example.com', reportingMta: 'mx.example.com' };
function policyFile(name: string, content: object | string): string {
  const file = join(dir, name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}
const plain = { version: 1, bounce, rules: [{ name: 'gone', when: { recipient: '*@example.com' }, then: 'bounce', bounceType: 'DoesNotExist' }] };
const withRegex = { version: 1, bounce, rules: [{ name: 'r', when: { any: [{ header: { 'X-Spam': '^yes$' } }] }, then: 'drop' }] };

/** The real parts, counting what the loader asks for. */
function countingParts() {
  const asked: string[] = [];
  const parts: LazyPolicyParts = {
    yaml: async () => (asked.push('yaml'), (await import('../../lambda/core/strict-yaml.js')).parseStrictYaml),
    re2: async () => (asked.push('re2'), (await import('re2js')).RE2JS),
  };
  return { asked, parts };
}

describe('loadPolicyFileLazily (the receipt Lambda)', () => {
  it('compiles a JSON policy without regexes, asking for neither the YAML parser nor the RE2 engine', async () => {
    const { asked, parts } = countingParts();
    const policy = await loadPolicyFileLazily(policyFile('plain.json', plain), parts);
    expect(policy.rules).toHaveLength(1);
    expect(asked).toEqual([]);
  });

  it('loads the RE2 engine for a policy with a nested regex condition, and validates it', async () => {
    const { asked, parts } = countingParts();
    const policy = await loadPolicyFileLazily(policyFile('regex.json', withRegex), parts);
    expect(policy.rules[0]!.messageTest).toBeDefined();
    expect(asked).toEqual(['re2']);
    await expect(loadPolicyFileLazily(policyFile('bad.json', { version: 1, bounce, rules: [{ name: 'r', when: { subject: '(' }, then: 'drop' }] }))).rejects.toMatchObject({
      issues: [{ path: 'rules[0].when.subject', message: expect.stringMatching(/^not an RE2 regular expression/) }],
    });
  });

  it('reads a YAML policy, loading the YAML parser on demand (and no RE2 engine it does not need)', async () => {
    const { asked, parts } = countingParts();
    const policy = await loadPolicyFileLazily(policyFile('policy.yaml', `version: 1\nbounce: { sender: m@example.com, reportingMta: mx.example.com }\nrules:\n  - { name: all, then: drop }\n`), parts);
    expect(policy.rules[0]!.then).toBe('drop');
    expect(asked).toEqual(['yaml']);
  });

  it('loads the real parts by default', async () => {
    const policy = await loadPolicyFileLazily(policyFile('regex.yaml', `version: 1\nbounce: { sender: m@example.com, reportingMta: mx.example.com }\nrules:\n  - { name: r, when: { subject: '^a+$' }, then: drop }\n`));
    expect(policy.rules[0]!.messageTest).toBeDefined();
  });
});

describe('the core compiles regular expressions only with the engine it is given', () => {
  it('names the first regular expression when none is given, as a policy problem', () => {
    expect(() => parsePolicyWith(JSON.stringify(withRegex), { fileName: 'p.json', format: 'json' })).toThrow(PolicyError);
    try {
      parsePolicyWith(JSON.stringify(withRegex), { fileName: 'p.json', format: 'json' });
    } catch (error) {
      expect((error as PolicyError).issues).toEqual([{ path: 'rules[0].when.any[0].header.X-Spam', message: expect.stringMatching(/need the RE2 engine/) }]);
    }
  });

  it('uses the engine passed in, whatever it is', () => {
    const compiled: string[] = [];
    const engine = { compile: (source: string) => (compiled.push(source), { test: (value: string) => value === 'yes' }) };
    const policy = parsePolicyWith(JSON.stringify(withRegex), { fileName: 'p.json', format: 'json', regex: engine });
    expect(compiled).toContain('^yes$');
    expect(policy.rules[0]!.messageTest).toBeDefined();
  });
});

describe('a policy compile compiles each regular expression once', () => {
  it('checks and compiles with one compile a source, however often the policy names it', () => {
    const compiled: string[] = [];
    const engine = { compile: (source: string) => (compiled.push(source), { test: () => true }) };
    const twice = { ...withRegex, rules: [...withRegex.rules, { name: 'again', when: { any: [{ header: { 'X-Spam': '^yes$' } }] }, then: 'drop' }] };
    parsePolicyWith(JSON.stringify(twice), { fileName: 'p.json', format: 'json', regex: engine });
    expect(compiled).toEqual(['^yes$']);
  });
});
