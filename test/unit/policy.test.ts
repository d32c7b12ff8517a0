import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPolicyFile } from '../../lambda/core/policy.js';
import { PolicyError } from '../../lambda/core/errors.js';
import { BOUNCE_BLOCK, issuesWith, policyIssues, policyWith } from '../support/policies.js';

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
      'bounce.sender: not an email address (local@domain, without a display name)',
      'bounce.senderArn: not an SES identity ARN (arn:aws:ses:REGION:ACCOUNT:identity/NAME)',
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
