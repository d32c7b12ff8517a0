import { decide } from '../../lambda/core/decide.js';
import { record, RECEIPT_TIME, SOON_AFTER, type RecordOptions } from '../support/events.js';
import { policyWith } from '../support/policies.js';

const BOUNCE_ALL = 'rules:\n  - { name: unknown, then: bounce, bounceType: DoesNotExist }';

function guardOf(options: RecordOptions, guards = '', now = SOON_AFTER): string | undefined {
  const decision = decide(record(options), policyWith(`${guards}\n${BOUNCE_ALL}`), now);
  return decision.recipients[0]?.guard;
}

describe('guards that are always on', () => {
  it('window-expired: more than 23 h after receipt, even when every configurable guard is off', () => {
    const received = new Date(RECEIPT_TIME).getTime();
    const off = 'guards: { requireAuthenticatedSender: false, skipSpamOrVirus: false, skipAutoSubmitted: false, skipMailingLists: false }';
    expect(guardOf({}, off, new Date(received + 23 * 3600_000))).toBeUndefined();
    expect(guardOf({}, off, new Date(received + 23 * 3600_000 + 1))).toBe('window-expired');
  });

  it.each(['', '   ', '<>', ' <> '])('null-sender: the envelope sender %p', (source) => {
    expect(guardOf({ source })).toBe('null-sender');
  });

  it('dsn: a multipart/report message is never bounced', () => {
    expect(guardOf({ headers: [{ name: 'content-type', value: 'Multipart/Report; report-type=delivery-status; boundary="x"' }] })).toBe('dsn');
  });

  it.each(['MAILER-DAEMON@mx.partner.example', 'postmaster@partner.example', 'Mailer-Daemon'])('dsn: envelope sender %p', (source) => {
    expect(guardOf({ source })).toBe('dsn');
  });

  it('dsn: From address with a reporting local part', () => {
    expect(guardOf({ from: 'Mail Delivery Subsystem <Postmaster@partner.example>' })).toBe('dsn');
  });
});

describe('configurable guards', () => {
  it.each([
    ['auto-replied', 'auto-submitted'],
    ['auto-generated; owner-email="x@partner.example"', 'auto-submitted'],
    ['no', undefined],
    ['No (a human wrote this)', undefined],
  ])('Auto-Submitted: %s → %p (RFC 3834)', (value, guard) => {
    expect(guardOf({ headers: [{ name: 'Auto-Submitted', value }] })).toBe(guard);
  });

  it.each([
    [{ name: 'List-Id', value: '<announce.partner.example>' }],
    [{ name: 'list-unsubscribe', value: '<mailto:leave@partner.example>' }],
    [{ name: 'List-Post', value: '<mailto:list@partner.example>' }],
    [{ name: 'Precedence', value: 'bulk' }],
    [{ name: 'Precedence', value: ' JUNK ' }],
    [{ name: 'Precedence', value: 'list' }],
  ])('mailing-list: %o', (header) => {
    expect(guardOf({ headers: [header] })).toBe('mailing-list');
  });

  it('does not treat Precedence: first-class as list mail', () => {
    expect(guardOf({ headers: [{ name: 'Precedence', value: 'first-class' }] })).toBeUndefined();
  });

  it.each([[{ spam: 'FAIL' }], [{ virus: 'FAIL' }]])('spam-or-virus: %o', (verdicts) => {
    expect(guardOf({ verdicts })).toBe('spam-or-virus');
  });

  it('spam GRAY alone does not trip spam-or-virus', () => {
    expect(guardOf({ verdicts: { spam: 'GRAY' } })).toBeUndefined();
  });

  it('unauthenticated-sender: neither SPF nor DKIM passes; either one passing is enough', () => {
    expect(guardOf({ verdicts: { spf: 'FAIL', dkim: 'GRAY' } })).toBe('unauthenticated-sender');
    expect(guardOf({ verdicts: { spf: 'PASS', dkim: 'FAIL' } })).toBeUndefined();
    expect(guardOf({ verdicts: { spf: 'PROCESSING_FAILED', dkim: 'PASS' } })).toBeUndefined();
  });

  it('each configurable guard can be turned off', () => {
    expect(guardOf({ headers: [{ name: 'Auto-Submitted', value: 'auto-replied' }] }, 'guards: { skipAutoSubmitted: false }')).toBeUndefined();
    expect(guardOf({ headers: [{ name: 'List-Id', value: '<l.example>' }] }, 'guards: { skipMailingLists: false }')).toBeUndefined();
    expect(guardOf({ verdicts: { virus: 'FAIL' } }, 'guards: { skipSpamOrVirus: false }')).toBeUndefined();
    expect(guardOf({ verdicts: { spf: 'FAIL', dkim: 'FAIL' } }, 'guards: { requireAuthenticatedSender: false }')).toBeUndefined();
  });

  it('names the first guard that tripped, in the documented order', () => {
    const everything: RecordOptions = {
      headers: [
        { name: 'Auto-Submitted', value: 'auto-replied' },
        { name: 'List-Id', value: '<l.example>' },
      ],
      verdicts: { spam: 'FAIL', spf: 'FAIL', dkim: 'FAIL' },
    };
    expect(guardOf(everything)).toBe('auto-submitted');
    expect(guardOf(everything, 'guards: { skipAutoSubmitted: false }')).toBe('mailing-list');
    expect(guardOf(everything, 'guards: { skipAutoSubmitted: false, skipMailingLists: false }')).toBe('spam-or-virus');
    expect(guardOf({ ...everything, source: '' })).toBe('null-sender');
  });
});

describe('a guarded bounce', () => {
  it('becomes onGuard (drop by default) and keeps the rule that matched', () => {
    const decision = decide(record({ source: '' }), policyWith(BOUNCE_ALL), SOON_AFTER);
    expect(decision.recipients).toEqual([{ address: 'nobody@example.com', action: 'drop', rule: 'unknown', guard: 'null-sender' }]);
    expect(decision.sendBounce).toBeNull();
    expect(decision.disposition).toBe('STOP_RULE_SET');
  });

  it('is delivered when onGuard is deliver, so SES continues', () => {
    const decision = decide(record({ source: '' }), policyWith(`guards: { onGuard: deliver }\n${BOUNCE_ALL}`), SOON_AFTER);
    expect(decision.recipients[0]).toMatchObject({ action: 'deliver', guard: 'null-sender' });
    expect(decision.disposition).toBe('CONTINUE');
  });

  it('guards nothing that was not going to bounce', () => {
    const decision = decide(record({ source: '' }), policyWith('rules:\n  - { name: keep, then: deliver }'), SOON_AFTER);
    expect(decision.recipients[0]).toEqual({ address: 'nobody@example.com', action: 'deliver', rule: 'keep' });
  });
});
