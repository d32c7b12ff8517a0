import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicyFile, parsePolicy } from '../../lambda/app/policy-loader.js';
import { parsePolicyWith } from '../../lambda/core/policy-compiler.js';
import { PolicyError } from '../../lambda/core/errors.js';
import { FileLimitError, MAX_FILE_BYTES, readTextFileBounded } from '../../lambda/app/bounded-file.js';
import { MAX_NESTING_DEPTH } from '../../lambda/core/policy-structure.js';
import { MAX_EXTENSION_FIELDS } from '../../lambda/core/policy-schema.js';
import { BOUNCE_BLOCK, issuesOf, issuesWith, policy, policyIssues, policyWith } from '../support/policies.js';

describe('policy loading', () => {
  it('loads the example policy with its staff list file', () => {
    const policy = loadPolicyFile('examples/policy.yaml');
    expect(policy.rules.map((rule) => rule.name)).toEqual(['staff', 'retired-domain', 'blocked-senders', 'full-mailbox', 'no-reply', 'unknown-mailbox']);
    expect(policy.document.lists?.staff).toContain('alice@example.com');
  });

  it('fills in the documented defaults: enforce, every guard on, 10 bounces per sender an hour, drop on guard, deliver by default', () => {
    const policy = policyWith('rules: []');
    expect(policy.mode).toBe('enforce');
    expect(policy.default).toBe('deliver');
    expect(policy.guards).toEqual({
      requireAuthenticatedSender: true,
      skipSpamOrVirus: true,
      skipAutoSubmitted: true,
      skipMailingLists: true,
      skipTruncatedHeaders: true,
      maxBouncesPerSenderPerHour: 10,
      onGuard: 'drop',
    });
  });

  it('reads JSON policies by their extension', () => {
    const dir = mkdtempSync(join(tmpdir(), 'policy-'));
    const file = join(dir, 'policy.json');
    writeFileSync(file, JSON.stringify({ version: 1, bounce: { sender: 'm@example.com', reportingMta: 'mx.example.com' }, rules: [{ name: 'all', then: 'drop' }] }));
    expect(loadPolicyFile(file).rules[0]?.then).toBe('drop');
  });

  it('reads list files beside the policy, skipping comments, blank lines and surrounding spaces', () => {
    const dir = mkdtempSync(join(tmpdir(), 'policy-'));
    writeFileSync(join(dir, 'staff.txt'), '# staff\n\n  alice@example.com  \r\n\t# indented comment\n*@*.eng.example.com\n');
    writeFileSync(join(dir, 'policy.yaml'), `version: 1\n${BOUNCE_BLOCK}\nlists:\n  staff: { file: staff.txt }\nrules:\n  - { name: s, when: { recipient: ["@list:staff"] }, then: deliver }\n`);
    expect(loadPolicyFile(join(dir, 'policy.yaml')).document.lists).toEqual({ staff: ['alice@example.com', '*@*.eng.example.com'] });
  });

  it('accepts inline lists and a single pattern instead of a list', () => {
    const policy = policyWith('lists:\n  vip: ["ceo@example.com"]\nrules:\n  - { name: vip, when: { recipient: "@list:vip" }, then: deliver }');
    expect(policy.rules).toHaveLength(1);
  });
});

describe('policy errors name their path', () => {
  it('reports a bad address pattern exactly as the contract shows', () => {
    expect(
      issuesWith(`rules:
  - { name: a, when: { recipient: ["a@example.com"] }, then: deliver }
  - { name: b, when: { recipient: ["b@example.com"] }, then: deliver }
  - { name: c, when: { recipient: ["not-an-address"] }, then: drop }`),
    ).toEqual(['rules[2].when.recipient[0]: not an address pattern']);
  });

  it('reports unknown keys by their full path', () => {
    expect(issuesWith('rules:\n  - { name: a, when: { recipent: ["a@example.com"] }, then: drop }')).toEqual(['rules[0].when.recipent: unknown key']);
  });

  it('reports missing required settings', () => {
    expect(policyIssues('version: 1\nbounce: { sender: m@example.com }\nrules: []')).toEqual(['bounce.reportingMta: required']);
    expect(policyIssues(`${BOUNCE_BLOCK}\nrules: []`)).toEqual(['version: must be 1']);
  });

  it('reports a malformed regular expression with RE2s reason', () => {
    const [issue] = issuesWith('rules:\n  - { name: a, when: { subject: "(unclosed" }, then: drop }');
    expect(issue).toMatch(/^rules\[0\]\.when\.subject: not an RE2 regular expression: .*missing closing \)/);
  });

  it('rejects backtracking-only constructs RE2 does not support', () => {
    expect(issuesWith('rules:\n  - { name: a, when: { header: { X-Tag: "(a)\\\\1" } }, then: drop }')[0]).toMatch(/^rules\[0\]\.when\.header\.X-Tag: not an RE2/);
  });

  it('reports an unknown list where it is referenced', () => {
    expect(issuesWith('rules:\n  - { name: a, when: { any: [{ sender: ["x@example.com", "@list:nope"] }] }, then: drop }')).toEqual([
      'rules[0].when.any[0].sender[1]: unknown list "nope"',
    ]);
  });

  it('reports control characters in any value', () => {
    expect(issuesWith('rules:\n  - { name: "a\\r\\nb", then: drop }')).toEqual(['rules[0].name: contains a control character (CR, LF, TAB or another)']);
    expect(issuesWith('rules:\n  - { name: a, then: bounce, bounceType: Undefined, explanation: "tab\\there" }')).toEqual([
      'rules[0].explanation: contains a control character (CR, LF, TAB or another)',
    ]);
  });

  it('reports every rule that a match-all rule before it makes unreachable, but never the default', () => {
    expect(
      issuesWith(`rules:
  - { name: everything, then: drop }
  - { name: later, when: { recipient: ["a@example.com"] }, then: deliver }
  - { name: empty-when, when: {}, then: deliver }
default: drop`),
    ).toEqual([
      'rules[1]: unreachable: rule "everything" (rules[0]) before it matches everything',
      'rules[2]: unreachable: rule "everything" (rules[0]) before it matches everything',
    ]);
    expect(issuesWith('rules:\n  - { name: catch-all, when: {}, then: deliver }\n  - { name: x, then: drop }')).toEqual([
      'rules[1]: unreachable: rule "catch-all" (rules[0]) before it matches everything',
    ]);
  });

  it('requires bounceType on bounce rules and refuses bounce fields elsewhere', () => {
    expect(issuesWith('rules:\n  - { name: a, then: bounce }')).toEqual(['rules[0].bounceType: required with then: bounce']);
    expect(issuesWith('rules:\n  - { name: a, then: deliver, status: "5.1.1" }')).toEqual(['rules[0].status: only allowed with then: bounce']);
  });

  it('rejects an unknown bounce type, action or verdict', () => {
    expect(issuesWith('rules:\n  - { name: a, then: bounce, bounceType: Gone }')[0]).toMatch(/^rules\[0\]\.bounceType: must be one of DoesNotExist, /);
    expect(issuesWith('rules:\n  - { name: a, then: reject }')[0]).toBe('rules[0].then: must be one of deliver, drop, bounce');
    expect(issuesWith('rules:\n  - { name: a, when: { spf: [PASS, MAYBE] }, then: drop }')[0]).toMatch(/^rules\[0\]\.when\.spf\[1\]: must be one of PASS/);
  });

  it('validates status and SMTP code overrides and keeps their classes consistent', () => {
    expect(issuesWith('rules:\n  - { name: a, then: bounce, bounceType: DoesNotExist, status: "2.0.0" }')[0]).toMatch(/^rules\[0\]\.status: not an RFC 3463 failure status/);
    expect(issuesWith('rules:\n  - { name: a, then: bounce, bounceType: DoesNotExist, smtpCode: 250 }')[0]).toBe('rules[0].smtpCode: must be at least 400');
    expect(issuesWith('rules:\n  - { name: a, then: bounce, bounceType: DoesNotExist, smtpCode: 450 }')).toEqual([
      'rules[0].smtpCode: SMTP code 450 and status 5.1.1 are of different classes (4xx goes with 4.x.x, 5xx with 5.x.x)',
    ]);
    expect(issuesWith('rules:\n  - { name: a, then: bounce, bounceType: ContentRejected, status: "4.7.1" }')).toEqual([
      'rules[0].status: SMTP code 550 and status 4.7.1 are of different classes (4xx goes with 4.x.x, 5xx with 5.x.x)',
    ]);
    expect(() => policyWith('rules:\n  - { name: a, then: bounce, bounceType: ContentRejected, status: "4.7.1", smtpCode: 451 }')).not.toThrow();
  });

  it('validates the bounce block: sender address, host name, identity ARNs', () => {
    expect(policyIssues('version: 1\nbounce: { sender: "Mailer <m@example.com>", reportingMta: "dns; mx.example.com", senderArn: "arn:nope" }\nrules: []')).toEqual([
      'bounce.sender: not a plain address: give local@domain only, without a display name or angle brackets',
      'bounce.senderArn: not an SES identity ARN (arn:PARTITION:ses:REGION:ACCOUNT:identity/IDENTITY: a 12-digit account, an email address or domain)',
      "bounce.reportingMta: not a host name (give the name only: ses-bouncer adds 'dns; ')",
    ]);
  });

  it('refuses extension field names SES would refuse, and the RFC 3464 fields themselves', () => {
    expect(policyIssues('version: 1\nbounce: { sender: m@example.com, reportingMta: mx.example.com, extensionFields: { X_Bad.Name: x, Status: y } }\nrules: []')).toEqual([
      'bounce.extensionFields.X_Bad.Name: not an extension field name (1 to 50 letters, digits and dashes)',
      'bounce.extensionFields.Status: a standard RFC 3464 field, not an extension field',
    ]);
    expect(issuesWith(`rules:\n  - { name: a, then: bounce, bounceType: Undefined, extensionFields: { ${'X'.repeat(51)}: y } }`)[0]).toMatch(/^rules\[0\]\.extensionFields\.X+: not an extension field name/);
  });

  it('names the offending header in a bad header condition', () => {
    expect(issuesWith('rules:\n  - { name: a, when: { header: { "X Y": "." } }, then: drop }')).toEqual(['rules[0].when.header.X Y: not a header field name']);
  });

  it('reports duplicate rule names', () => {
    expect(issuesWith('rules:\n  - { name: a, when: { recipient: x@example.com }, then: drop }\n  - { name: a, then: drop }')).toEqual([
      'rules[1].name: duplicate rule name "a" (also rules[0])',
    ]);
  });

  it('reports list file problems: missing file, bad lines, lists referring to lists', () => {
    expect(issuesWith('lists:\n  staff: { file: staff.txt }\nrules: []')).toEqual(['lists.staff.file: cannot read staff.txt: ENOENT']);
    expect(issuesWith('lists:\n  staff: { file: staff.txt }\nrules: []', { 'staff.txt': 'a@example.com\n\nnot an address\n' })).toEqual([
      'lists.staff.file: staff.txt line 3: not an address pattern: "not an address"',
    ]);
    expect(issuesWith('lists:\n  a: ["@list:b"]\n  b: ["x@example.com"]\nrules: []')).toEqual(['lists.a[0]: a list cannot refer to another list']);
    expect(issuesWith('lists:\n  staff: { file: staff.txt }\nrules: []', { 'staff.txt': 'a@example.com\nb\u0001c@example.com\n' })).toEqual([
      'lists.staff.file: staff.txt line 2: contains a control character (CR, LF, TAB or another)',
    ]);
  });

  it('reports YAML syntax errors and empty files without a path', () => {
    expect(policyIssues('version: 1\nrules: [\n')[0]).toMatch(/^: not valid YAML: /);
    expect(policyIssues('')).toEqual([': the policy is empty']);
  });

  it('names the file and every issue in the PolicyError message', () => {
    try {
      loadPolicyFile('does/not/exist.yaml');
      throw new Error('unreachable');
    } catch (error) {
      expect(error).toBeInstanceOf(PolicyError);
      expect((error as PolicyError).message).toContain('cannot read does/not/exist.yaml: ENOENT');
    }
  });
});

// docs/policy.md "Strict loading": the loader is as strict as the decisions.

const BOUNCE_JSON = '"bounce": {"sender": "mailer-daemon@example.com", "reportingMta": "mx.example.com"}';

/** A JSON policy: version and bounce block, then `members` (JSON object members, as text). */
function jsonPolicy(members: string): string {
  return `{"version": 1, ${BOUNCE_JSON}, ${members}}`;
}

/** The issues of an invalid JSON policy text, as `path: message` lines. */
function jsonIssues(text: string): string[] {
  return issuesOf(() => parsePolicy(text, { fileName: 'policy.json', format: 'json' }));
}

/** A YAML policy with `version: 1` and then `body` (which gives its own bounce block). */
const policy_ = (body: string) => policy(`version: 1\n${body}`);

const DEEP = `nested deeper than ${MAX_NESTING_DEPTH} levels`;
const RESERVED = 'not allowed as a key: it names an object prototype member';
const zeros = (count: number): string => '[0]'.repeat(count);

/** The issues, and how long finding them took. */
function timed(find: () => string[]): { issues: string[]; ms: number } {
  const start = performance.now();
  const issues = find();
  return { issues, ms: performance.now() - start };
}

describe('the loader refuses duplicate keys, by path', () => {
  it('in JSON, where JSON.parse would let the last one win silently', () => {
    expect(jsonIssues(jsonPolicy('"mode": "dry-run", "mode": "enforce", "rules": []'))).toEqual(['mode: duplicate key']);
    expect(jsonIssues(jsonPolicy('"rules": [{"when": {"recipient": "a@example.com", "recipient": "b@example.com"}, "then": "drop"}]'))).toEqual([
      'rules[0].when.recipient: duplicate key',
    ]);
  });

  it('in JSON, every duplicate at once, however deep and whatever the value', () => {
    expect(
      jsonIssues(
        jsonPolicy('"rules": [{"name": "a", "then": "drop", "name": "b"}, {"when": {"header": {"X-A": "1", "X-A": "2"}}, "then": "drop"}], "rules": [], "default": "drop"'),
      ),
    ).toEqual(['rules[0].name: duplicate key', 'rules[1].when.header.X-A: duplicate key', 'rules: duplicate key']);
  });

  it('in YAML, with the path instead of the yaml package\'s bare position', () => {
    expect(issuesWith('mode: dry-run\nmode: enforce\nrules: []')).toEqual(['mode: duplicate key']);
    expect(issuesWith('rules:\n  - when: { recipient: a@example.com, recipient: b@example.com }\n    then: drop')).toEqual(['rules[0].when.recipient: duplicate key']);
    expect(issuesWith('rules:\n  - name: a\n    when:\n      header:\n        X-A: x\n        X-A: y\n    then: drop')).toEqual(['rules[0].when.header.X-A: duplicate key']);
  });

  it('in YAML, also keys that differ in YAML but become the same property (1 and "1")', () => {
    expect(issuesWith('lists:\n  1: [a@example.com]\n  "1": [b@example.com]\nrules: []')).toEqual(['lists.1: duplicate key']);
  });
});

describe('the loader refuses keys that name an object prototype member', () => {
  it('JSON: header: {"__proto__": ...} would otherwise become header: {} and match every message', () => {
    expect(jsonIssues(jsonPolicy('"rules": [{"when": {"header": {"__proto__": "^yes$"}}, "then": "drop"}]'))).toEqual([
      `rules[0].when.header.__proto__: ${RESERVED}`,
    ]);
  });

  it('JSON: constructor and prototype anywhere, all at once, and no prototype is ever polluted', () => {
    expect(jsonIssues(jsonPolicy('"constructor": {}, "lists": {"prototype": ["a@example.com"]}, "rules": [{"then": "drop", "__proto__": {"polluted": true}}]'))).toEqual([
      `constructor: ${RESERVED}`,
      `lists.prototype: ${RESERVED}`,
      `rules[0].__proto__: ${RESERVED}`,
    ]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('YAML: the same keys, in flow and block style', () => {
    expect(issuesWith('rules:\n  - when: { header: { __proto__: "^yes$" } }\n    then: drop')).toEqual([`rules[0].when.header.__proto__: ${RESERVED}`]);
    expect(issuesWith('constructor: 1\nrules:\n  - name: a\n    then: drop\n    prototype: x')).toEqual([`constructor: ${RESERVED}`, `rules[0].prototype: ${RESERVED}`]);
  });

  it('refuses an empty header condition, which would match every message', () => {
    expect(issuesWith('rules:\n  - { name: a, when: { header: {} }, then: bounce, bounceType: DoesNotExist }')).toEqual([
      'rules[0].when.header: an empty header condition would match every message',
    ]);
    expect(jsonIssues(jsonPolicy('"rules": [{"when": {"any": [{"header": {}}]}, "then": "drop"}]'))).toEqual([
      'rules[0].when.any[0].header: an empty header condition would match every message',
    ]);
  });
});

describe(`the loader refuses nesting deeper than ${MAX_NESTING_DEPTH} levels, fast and without recursion`, () => {
  // The policy object is level 1, so x holds at most 31 more.
  it('allows 32 levels and refuses 33, the same in JSON and YAML', () => {
    const nested = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;
    expect(jsonIssues(jsonPolicy(`"rules": [], "x": ${nested(31)}`))).toEqual(['x: unknown key']);
    expect(jsonIssues(jsonPolicy(`"rules": [], "x": ${nested(32)}`))).toEqual([`x${zeros(31)}: ${DEEP}`]);
    expect(issuesWith(`rules: []\nx: ${nested(31)}`)).toEqual(['x: unknown key']);
    expect(issuesWith(`rules: []\nx: ${nested(32)}`)).toEqual([`x${zeros(31)}: ${DEEP}`]);
  });

  it('JSON 5000 levels deep (arrays, objects) is one issue with its path, not a stack overflow', () => {
    const arrays = timed(() => jsonIssues(jsonPolicy(`"rules": [], "x": ${'['.repeat(5000)}${']'.repeat(5000)}`)));
    expect(arrays.issues).toEqual([`x${zeros(31)}: ${DEEP}`]);
    const objects = timed(() => jsonIssues(jsonPolicy(`"rules": [{"when": ${'{"not": '.repeat(5000)}{}${'}'.repeat(5000)}, "then": "drop"}]`)));
    expect(objects.issues).toEqual([`rules[0].when${'.not'.repeat(29)}: ${DEEP}`]);
    expect(arrays.ms + objects.ms).toBeLessThan(1000);
  });

  it('JSON: a deep value does not hide the other problems, and a syntax error inside it is still one', () => {
    expect(jsonIssues(jsonPolicy(`"mode": "enforce", "x": ${'['.repeat(100)}${']'.repeat(100)}, "mode": "dry-run", "rules": []`))).toEqual([
      `x${zeros(31)}: ${DEEP}`,
      'mode: duplicate key',
    ]);
    expect(jsonIssues(jsonPolicy(`"x": ${'['.repeat(100)}}`))[0]).toMatch(/^: not valid JSON: expected a value, found "}" \(line 1, column \d+\)$/);
  });

  it('YAML flow collections 1,000,000 deep are refused before the yaml package sees them', () => {
    const seqs = timed(() => issuesWith(`rules: []\nx: ${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}`));
    expect(seqs.issues).toEqual([`x${zeros(31)}: ${DEEP}`]);
    const maps = timed(() => issuesWith(`rules:\n  - then: drop\n    when: ${'{ not: '.repeat(100_000)}{}${' }'.repeat(100_000)}`));
    expect(maps.issues).toEqual([`rules[0].when${'.not'.repeat(29)}: ${DEEP}`]);
    expect(seqs.ms + maps.ms).toBeLessThan(1000);
  });

  it('YAML block nesting (indentation, compact "- - -" sequences) is refused with its path', () => {
    let block = 'rules: []\nx:\n';
    for (let level = 1; level < 3000; level++) block += `${' '.repeat(2 * level)}a:\n`;
    const indented = timed(() => issuesWith(block));
    expect(indented.issues).toEqual([`x${'.a'.repeat(31)}: ${DEEP}`]);
    const compact = timed(() => issuesWith(`rules: []\nx:\n  ${'- '.repeat(5000)}y\n`));
    expect(compact.issues).toEqual([`x${zeros(31)}: ${DEEP}`]);
    expect(indented.ms + compact.ms).toBeLessThan(2000);
  });

  it('YAML aliases cannot nest deeper either, nor loop', () => {
    const inner = `${'['.repeat(20)}${']'.repeat(20)}`;
    expect(issuesWith(`rules: []\na: &a ${inner}\nb: ${'['.repeat(20)}*a${']'.repeat(20)}`)).toEqual([`b${zeros(20)}${zeros(11)}: ${DEEP}`]);
    expect(issuesWith('rules: &r [*r]')).toEqual([`rules${zeros(31)}: ${DEEP}`]);
  });

  it('YAML aliases cannot multiply the policy beyond linear size', () => {
    const big = Array.from({ length: 5000 }, (_, index) => `"x${index}@example.com"`).join(', ');
    const issues = issuesWith(`rules: []\nbig: &big [${big}]\nmany: [${Array.from({ length: 99 }, () => '*big').join(', ')}]`);
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatch(/^many\[\d+\]\[\d+\]: YAML aliases expand the policy to more than \d+ values$/);
  });

  it('the parsed value is checked again, whatever parser made it: depth, reserved keys, a stack overflow', () => {
    const withParser = (parseYaml: (text: string) => unknown): string[] => issuesOf(() => parsePolicyWith('', { fileName: 'custom.yaml', parseYaml }));
    let deep: unknown = 'x';
    for (let level = 0; level < 100_000; level++) deep = [deep];
    expect(withParser(() => ({ version: 1, rules: deep }))).toEqual([`rules${zeros(31)}: ${DEEP}`]);
    const sneaky = Object.defineProperty({ version: 1, rules: [] }, '__proto__', { value: {}, enumerable: true });
    expect(withParser(() => sneaky)).toEqual([`__proto__: ${RESERVED}`]);
    expect(
      withParser(() => {
        throw new RangeError('Maximum call stack size exceeded');
      }),
    ).toEqual([`: the policy is nested too deeply to read (the limit is ${MAX_NESTING_DEPTH} levels)`]);
  });

  it('brackets inside YAML scalars are not nesting', () => {
    const policy = policyWith(
      `rules:\n  - name: "${'['.repeat(40)}"\n    when: { recipient: a@example.com }\n    then: bounce\n    bounceType: Undefined\n    explanation: |-\n      ${'[ { '.repeat(40)}\n  - { name: b, when: { subject: '\\[\\[\\[' }, then: drop }`,
    );
    expect(policy.rules[0]!.bounce!.explanation).toBe('[ { '.repeat(40));
    expect(policy.rules).toHaveLength(2);
  });
});

describe(`list files: regular files of at most ${MAX_FILE_BYTES / 1024 / 1024} MiB, read with a bound`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'policy-lists-'));
  const listPolicy = (name: string, file: string): string => {
    const path = join(dir, name);
    writeFileSync(path, `version: 1\n${BOUNCE_BLOCK}\nlists:\n  staff: { file: ${JSON.stringify(file)} }\nrules: []\n`);
    return path;
  };
  const fileIssues = (path: string): string[] => issuesOf(() => loadPolicyFile(path));

  it('refuses /dev/zero at once instead of reading it forever', () => {
    const { issues, ms } = timed(() => fileIssues(listPolicy('zero.yaml', '/dev/zero')));
    expect(issues).toEqual(['lists.staff.file: cannot read /dev/zero: not a regular file (a character device)']);
    expect(ms).toBeLessThan(1000);
  });

  it('refuses a named pipe without waiting for a writer, and a directory', () => {
    const fifo = join(dir, 'staff.fifo');
    if (!existsSync(fifo)) spawnSync('mkfifo', [fifo]);
    expect(fileIssues(listPolicy('fifo.yaml', 'staff.fifo'))).toEqual(['lists.staff.file: cannot read staff.fifo: not a regular file (a named pipe)']);
    mkdirSync(join(dir, 'staff.d'), { recursive: true });
    expect(fileIssues(listPolicy('dir.yaml', 'staff.d'))).toEqual(['lists.staff.file: cannot read staff.d: not a regular file (a directory)']);
  });

  it('refuses a file larger than 64 MiB without reading it', () => {
    const big = join(dir, 'big.txt');
    writeFileSync(big, '');
    truncateSync(big, MAX_FILE_BYTES + 1); // sparse: no disk space used
    const { issues, ms } = timed(() => fileIssues(listPolicy('big.yaml', 'big.txt')));
    expect(issues).toEqual([`lists.staff.file: cannot read big.txt: larger than 64 MiB (${MAX_FILE_BYTES + 1} bytes)`]);
    expect(ms).toBeLessThan(1000);
  });

  it('never reads more than the limit and one byte, even from a file that does not end', () => {
    expect(() => readTextFileBounded('/dev/zero', { regularOnly: false, maxBytes: 1000 })).toThrow(new FileLimitError('larger than 1000 bytes'));
    expect(() => readTextFileBounded('/dev/zero')).toThrow(new FileLimitError('not a regular file (a character device)'));
  });

  it('bounds the policy file itself: check /dev/zero ends', () => {
    const { issues, ms } = timed(() => fileIssues('/dev/zero'));
    expect(issues).toEqual([': cannot read /dev/zero: larger than 64 MiB']);
    expect(ms).toBeLessThan(2000);
  });
});

describe('bounce.sender and the identity ARNs', () => {
  const senderIssues = (sender: string) => policyIssues(`version: 1\nbounce: { sender: ${JSON.stringify(sender)}, reportingMta: mx.example.com }\nrules: []`);

  it.each([
    ['Mailer <m@example.com>', 'not a plain address: give local@domain only, without a display name or angle brackets'],
    ['<m@example.com>', 'not a plain address: give local@domain only, without a display name or angle brackets'],
    ['m@example.com.', 'the domain must not end with a dot'],
    ['mé@example.com', 'must be plain ASCII (no non-ASCII letter; give an internationalized domain in its xn-- form)'],
    ['m@bücher.example', 'must be plain ASCII (no non-ASCII letter; give an internationalized domain in its xn-- form)'],
    ['m@localhost', 'not an email address (local@domain, without a display name)'],
    ['a..b@example.com', 'not an email address (local@domain, without a display name)'],
    ['m@-example.com', 'not an email address (local@domain, without a display name)'],
    ['"m"@example.com', 'not an email address (local@domain, without a display name)'],
    [`${'a'.repeat(65)}@example.com`, 'too long (at most 64 characters before the @ and 253 after it)'],
  ])('refuses sender %p: %s', (sender, message) => {
    expect(senderIssues(sender)).toEqual([`bounce.sender: ${message}`]);
  });

  it.each(['mailer-daemon@example.com', 'bounce+tag@mail.example.co.uk', "o'brien.x@EXAMPLE.com", 'm@xn--bcher-kva.example'])('accepts sender %p', (sender) => {
    expect(policy_(`bounce: { sender: ${JSON.stringify(sender)}, reportingMta: mx.example.com }\nrules: []`).bounce.sender).toBe(sender);
  });

  const ARN_MESSAGE = 'not an SES identity ARN (arn:PARTITION:ses:REGION:ACCOUNT:identity/IDENTITY: a 12-digit account, an email address or domain)';

  it.each([
    'arn:nope',
    'arn:aws:ses:eu-west-1:11112222333:identity/example.com',
    'arn:aws:ses:eu-west-1:111122223333:identity/example.com.',
    'arn:aws:ses:eu-west-1:111122223333:identity/*',
    'arn:aws:ses:eu-west-1:111122223333:identity/Mailer <m@example.com>',
    'arn:aws:ses:eu-west-1:111122223333:configuration-set/default',
    'arn:aws:sns:eu-west-1:111122223333:identity/example.com',
    'arn:aws:ses:*:111122223333:identity/example.com',
  ])('refuses %p as senderArn and recipientArn', (arn) => {
    expect(
      policyIssues(
        `version: 1\nbounce: { sender: m@example.com, reportingMta: mx.example.com, senderArn: ${JSON.stringify(arn)} }\nrules:\n  - { name: a, then: bounce, bounceType: Undefined, recipientArn: ${JSON.stringify(arn)} }`,
      ),
    ).toEqual([`bounce.senderArn: ${ARN_MESSAGE}`, `rules[0].recipientArn: ${ARN_MESSAGE}`]);
  });

  it.each([
    'arn:aws:ses:eu-west-1:111122223333:identity/example.com',
    'arn:aws:ses:us-east-1:111122223333:identity/mailer-daemon@example.com',
    'arn:aws-us-gov:ses:us-gov-west-1:111122223333:identity/example.com',
    'arn:aws-cn:ses:cn-north-1:111122223333:identity/mail.example.cn',
  ])('accepts %p', (arn) => {
    const policy = policy_(`bounce: { sender: m@example.com, reportingMta: mx.example.com, senderArn: ${arn} }\nrules:\n  - { name: a, then: bounce, bounceType: Undefined, recipientArn: ${arn} }`);
    expect(policy.bounce.senderArn).toBe(arn);
    expect(policy.rules[0]!.bounce!.recipientArn).toBe(arn);
  });
});

describe(`at most ${MAX_EXTENSION_FIELDS} extension fields per list`, () => {
  const fields = (count: number) => `{ ${Array.from({ length: count }, (_, index) => `X-Field-${index}: v${index}`).join(', ')} }`;

  it('is 10', () => {
    expect(MAX_EXTENSION_FIELDS).toBe(10);
  });

  it('accepts 10 and refuses 11, in the bounce block and in each rule, all at once', () => {
    const ok = policy_(`bounce: { sender: m@example.com, reportingMta: mx.example.com, extensionFields: ${fields(10)} }\nrules:\n  - { name: a, then: bounce, bounceType: Undefined, extensionFields: ${fields(10)} }`);
    expect(ok.bounce.extensionFields).toHaveLength(10);
    expect(ok.rules[0]!.bounce!.extensionFields).toHaveLength(10);
    expect(
      policyIssues(
        `version: 1\nbounce: { sender: m@example.com, reportingMta: mx.example.com, extensionFields: ${fields(11)} }\nrules:\n  - { name: a, then: bounce, bounceType: Undefined, extensionFields: ${fields(12)} }`,
      ),
    ).toEqual(['bounce.extensionFields: 11 extension fields: at most 10 are allowed', 'rules[0].extensionFields: 12 extension fields: at most 10 are allowed']);
  });

  it('JSON too', () => {
    const members = Array.from({ length: 11 }, (_, index) => `"X-F${index}": "v"`).join(', ');
    expect(jsonIssues(jsonPolicy(`"rules": [{"name": "a", "then": "bounce", "bounceType": "Undefined", "extensionFields": {${members}}}]`))).toEqual([
      'rules[0].extensionFields: 11 extension fields: at most 10 are allowed',
    ]);
  });
});

describe('syntax errors name the line and column', () => {
  it('JSON', () => {
    expect(jsonIssues('{\n  "version": 1,\n  "rules": [}\n}')).toEqual([': not valid JSON: expected a value, found "}" (line 3, column 13)']);
    expect(jsonIssues('{"version": "1')).toEqual([': not valid JSON: a string that is never closed (line 1, column 13)']);
    expect(jsonIssues('')).toEqual([': not valid JSON: expected a value, found the end of the file (line 1, column 1)']);
    expect(jsonIssues('{} {}')).toEqual([': not valid JSON: expected the end of the file, found "{" (line 1, column 4)']);
    expect(jsonIssues('\ufeff{}')).toEqual([': not valid JSON: expected a value, found U+FEFF (line 1, column 1)']);
  });

  it('YAML', () => {
    expect(policyIssues('version: 1\nrules: [\n')).toEqual([expect.stringMatching(/^: not valid YAML: .* \(line \d+, column \d+\)$/)]);
    expect(policyIssues('version: 1\n---\nversion: 1\n')).toEqual([': not valid YAML: more than one document (line 2, column 1)']);
  });
});
