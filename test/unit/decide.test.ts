import { decide, guardSenderRate, planDecision } from '../../lambda/core/decide.js';
import { record, SOON_AFTER, type RecordOptions } from '../support/events.js';
import { policyWith } from '../support/policies.js';

function actionFor(rules: string, options: RecordOptions = {}): string[] {
  return decide(record(options), policyWith(rules), SOON_AFTER).recipients.map((r) => `${r.action}:${r.rule}`);
}

describe('decisions', () => {
  it('decide only the envelope recipients this rule matched, never the header To/Cc', () => {
    const decision = decide(record(), policyWith('rules:\n  - { name: all, then: bounce, bounceType: DoesNotExist }'), SOON_AFTER);
    expect(decision.recipients.map((r) => r.address)).toEqual(['nobody@example.com']);
    expect(decision.sendBounce!.BouncedRecipientInfoList.map((r) => r.Recipient)).toEqual(['nobody@example.com']);
  });

  it('let the first matching rule win, and fall back to the default with rule null', () => {
    const rules = `rules:
  - { name: first, when: { recipient: "*@example.com" }, then: drop }
  - { name: second, when: { recipient: "a@example.com" }, then: bounce, bounceType: DoesNotExist }
default: deliver`;
    expect(actionFor(rules, { recipients: ['a@example.com', 'b@example.org'] })).toEqual(['drop:first', 'deliver:null']);
    expect(decide(record({ recipients: ['b@example.org'] }), policyWith('rules: []\ndefault: drop'), SOON_AFTER).recipients).toEqual([
      { address: 'b@example.org', action: 'drop', rule: null },
    ]);
  });

  it('stop the rule set only when no recipient is delivered', () => {
    const policy = policyWith('rules:\n  - { name: keep, when: { recipient: keep@example.com }, then: deliver }\n  - { name: gone, then: bounce, bounceType: DoesNotExist }');
    expect(decide(record({ recipients: ['x@example.com'] }), policy, SOON_AFTER).disposition).toBe('STOP_RULE_SET');
    expect(decide(record({ recipients: ['x@example.com', 'keep@example.com'] }), policy, SOON_AFTER).disposition).toBe('CONTINUE');
  });

  it('in dry-run, show what enforce would do and the would-be SendBounce, and always continue', () => {
    const decision = decide(record(), policyWith('mode: dry-run\nrules:\n  - { name: gone, then: bounce, bounceType: DoesNotExist }'), SOON_AFTER);
    expect(decision.dryRun).toBe(true);
    expect(decision.disposition).toBe('CONTINUE');
    expect(decision.recipients[0]).toMatchObject({ action: 'bounce', bounceType: 'DoesNotExist', status: '5.1.1' });
    expect(decision.sendBounce).not.toBeNull();
  });

  it('omit dryRun in enforce mode', () => {
    expect('dryRun' in decide(record(), policyWith('rules: []'), SOON_AFTER)).toBe(false);
  });
});

describe('conditions', () => {
  const bounceIf = (when: string) => `rules:\n  - { name: hit, when: ${when}, then: drop }`;
  const hits = (when: string, options: RecordOptions = {}) => actionFor(bounceIf(when), options)[0] === 'drop:hit';

  it('sender matches the envelope MAIL FROM', () => {
    expect(hits('{ sender: "*@partner.example" }')).toBe(true);
    expect(hits('{ sender: "*@partner.example" }', { source: 'x@other.example' })).toBe(false);
  });

  it('from matches any address in the From header', () => {
    expect(hits('{ from: "jane@partner.example" }')).toBe(true);
    expect(hits('{ from: "*@*.partner.example" }')).toBe(false);
  });

  it('subject is an RE2 regex, case-sensitive unless (?i), anchored only when written so', () => {
    expect(hits('{ subject: "report" }')).toBe(true);
    expect(hits('{ subject: "REPORT" }')).toBe(false);
    expect(hits('{ subject: "(?i)REPORT" }')).toBe(true);
    expect(hits('{ subject: "^report" }')).toBe(false);
  });

  it('subject regexes run in linear time on a hostile 40 KB subject', () => {
    const started = performance.now();
    expect(hits('{ subject: "^(a+)+$" }', { subject: `${'a'.repeat(40_000)}!` })).toBe(false);
    expect(performance.now() - started).toBeLessThan(2000);
  });

  it('header matches any header of that name, name case-insensitively', () => {
    expect(hits('{ header: { x-spam-flag: "^YES$" } }', { headers: [{ name: 'X-Spam-Flag', value: 'NO' }, { name: 'X-SPAM-FLAG', value: 'YES' }] })).toBe(true);
    expect(hits('{ header: { X-Missing: "." } }')).toBe(false);
  });

  it('verdict keys take one status or a list', () => {
    expect(hits('{ spf: PASS }')).toBe(true);
    expect(hits('{ spam: [FAIL, GRAY] }', { verdicts: { spam: 'GRAY' } })).toBe(true);
    expect(hits('{ dmarc: FAIL }')).toBe(false);
  });

  it('dmarcPolicy compares case-insensitively and never matches when SES sent none', () => {
    expect(hits('{ dmarcPolicy: reject }', { dmarcPolicy: 'REJECT' })).toBe(true);
    expect(hits('{ dmarcPolicy: [none, QUARANTINE] }', { dmarcPolicy: 'quarantine' })).toBe(true);
    expect(hits('{ dmarcPolicy: reject }')).toBe(false);
  });

  it('combine keys with and, and any/all/not as written', () => {
    expect(hits('{ spf: PASS, subject: nope }')).toBe(false);
    expect(hits('{ any: [{ subject: nope }, { spf: PASS }] }')).toBe(true);
    expect(hits('{ all: [{ subject: Quarterly }, { spf: PASS }] }')).toBe(true);
    expect(hits('{ not: { spf: PASS } }')).toBe(false);
    expect(hits('{ not: { any: [{ subject: nope }] } }')).toBe(true);
  });

  it('an empty when matches everything', () => {
    expect(hits('{}')).toBe(true);
  });
});

describe('the sender-rate guard', () => {
  it('turns every bounce into onGuard with guard sender-rate and no SendBounce', () => {
    const policy = policyWith('rules:\n  - { name: keep, when: { recipient: keep@example.com }, then: deliver }\n  - { name: gone, then: bounce, bounceType: DoesNotExist }');
    const plan = planDecision(record({ recipients: ['keep@example.com', 'x@example.com'] }), policy, SOON_AFTER);
    const guarded = guardSenderRate(plan, policy);
    expect(guarded.decision.recipients).toEqual([
      { address: 'keep@example.com', action: 'deliver', rule: 'keep' },
      { address: 'x@example.com', action: 'drop', rule: 'gone', guard: 'sender-rate' },
    ]);
    expect(guarded.decision.sendBounce).toBeNull();
  });
});
