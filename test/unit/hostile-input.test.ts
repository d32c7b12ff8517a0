// Hostile but plausible input: one bad recipient, header or field never spoils the rest
// (docs/policy.md "Guards", "Recipients").
import { decide } from '../../lambda/core/decide.js';
import { parseSesEvent } from '../../lambda/core/event.js';
import { record, rawRecord, SOON_AFTER, type RecordOptions } from '../support/events.js';
import { policyWith } from '../support/policies.js';

const BOUNCE_ALL = 'rules:\n  - { name: unknown, then: bounce, bounceType: DoesNotExist }';

function decideWith(options: RecordOptions, guards = '') {
  return decide(record(options), policyWith(`${guards}\n${BOUNCE_ALL}`), SOON_AFTER);
}

describe('invalid-recipient: an address SES cannot take never spoils the bounce of the others', () => {
  it.each([
    ['"john doe"@example.com'],
    ['no-at-sign'],
    ['ghost@example.com\r\nBcc: victim@example.net'],
    ['jöhn@example.com'],
    ['gh\u200bost@example.com'],
    [`${'x'.repeat(300)}@example.com`],
    ['a@b@example.com'],
    ['ghost@exa_mple.com'],
  ])('%j is guarded, its rule still named; ghost@example.com next to it is bounced', (odd) => {
    const decision = decideWith({ recipients: [odd, 'ghost@example.com'] });
    expect(decision.recipients).toEqual([
      expect.objectContaining({ action: 'drop', rule: 'unknown', guard: 'invalid-recipient' }),
      expect.objectContaining({ address: 'ghost@example.com', action: 'bounce', rule: 'unknown' }),
    ]);
    expect(decision.sendBounce?.BouncedRecipientInfoList.map((info) => info.Recipient)).toEqual(['ghost@example.com']);
  });

  it('follows onGuard: deliver', () => {
    const decision = decideWith({ recipients: ['no-at-sign'] }, 'guards: { onGuard: deliver }');
    expect(decision.recipients[0]).toMatchObject({ action: 'deliver', guard: 'invalid-recipient' });
    expect(decision.disposition).toBe('CONTINUE');
  });

  it('comes after the always-on message guards and before the configurable ones, recipient by recipient', () => {
    const autoReply = { headers: [{ name: 'Auto-Submitted', value: 'auto-replied' }] };
    const decision = decideWith({ ...autoReply, recipients: ['no-at-sign', 'ghost@example.com'] });
    expect(decision.recipients.map((r) => r.guard)).toEqual(['invalid-recipient', 'auto-submitted']);
    const nullSender = decideWith({ source: '<>', recipients: ['no-at-sign', 'ghost@example.com'] });
    expect(nullSender.recipients.map((r) => r.guard)).toEqual(['null-sender', 'null-sender']);
  });
});

describe('truncated-headers: the header guards cannot see every header', () => {
  it('guards a message whose headers SES truncated, between mailing-list and spam-or-virus', () => {
    const raw = rawRecord({ recipients: ['ghost@example.com'] });
    raw.ses.mail.headersTruncated = true;
    const [result] = parseSesEvent({ Records: [raw] });
    const decision = decide((result as { record: any }).record, policyWith(BOUNCE_ALL), SOON_AFTER);
    expect(decision.recipients[0]).toMatchObject({ action: 'drop', guard: 'truncated-headers' });
    // A list header it did see still names the earlier guard.
    raw.ses.mail.headers.push({ name: 'List-Id', value: '<x.partner.example>' });
    const [list] = parseSesEvent({ Records: [raw] });
    expect(decide((list as { record: any }).record, policyWith(BOUNCE_ALL), SOON_AFTER).recipients[0]?.guard).toBe('mailing-list');
  });

  it.each([['no headers at all', undefined], ['an empty header list', []]])('guards %s', (_what, headers) => {
    const raw = rawRecord({ recipients: ['ghost@example.com'] });
    if (headers === undefined) delete raw.ses.mail.headers;
    else raw.ses.mail.headers = headers;
    const [result] = parseSesEvent({ Records: [raw] });
    expect(decide((result as { record: any }).record, policyWith(BOUNCE_ALL), SOON_AFTER).recipients[0]?.guard).toBe('truncated-headers');
  });

  it('is off with skipTruncatedHeaders: false', () => {
    const raw = rawRecord({ recipients: ['ghost@example.com'] });
    raw.ses.mail.headersTruncated = true;
    const [result] = parseSesEvent({ Records: [raw] });
    const decision = decide((result as { record: any }).record, policyWith(`guards: { skipTruncatedHeaders: false }\n${BOUNCE_ALL}`), SOON_AFTER);
    expect(decision.recipients[0]).toMatchObject({ action: 'bounce' });
  });
});

describe('null senders and reporting mailboxes in their odd spellings', () => {
  it.each([' < > ', '<\t>', '<\r\n>', '\u0000'])('null-sender: %j', (source) => {
    expect(decideWith({ source }).recipients[0]?.guard).toBe('null-sender');
  });

  it.each(['mailer-daemon+bounces@partner.example', 'Postmaster+x@partner.example', '<MAILER-DAEMON@partner.example>'])('dsn: %j', (source) => {
    expect(decideWith({ source }).recipients[0]?.guard).toBe('dsn');
  });

  it('dsn: a tagged reporting mailbox in From', () => {
    expect(decideWith({ from: 'Bounces <postmaster+42@partner.example>' }).recipients[0]?.guard).toBe('dsn');
  });
});

describe('event fields SES would refuse in the SendBounce are caught at validation', () => {
  it.each([
    ['year 10000', '+010000-01-01T00:00:00.000Z'],
    ['year 0000', '0000-01-01T00:00:00.000Z'],
  ])('a timestamp in %s', (_what, timestamp) => {
    const raw = rawRecord();
    raw.ses.mail.timestamp = timestamp;
    const [result] = parseSesEvent({ Records: [raw] });
    expect(result).toEqual({ ok: false, error: expect.stringContaining('Records[0].ses.mail.timestamp: not a timestamp SES accepts (years 0001 to 9999)') });
  });

  it('a message id longer than 256 characters', () => {
    const raw = rawRecord({ messageId: 'x'.repeat(257) });
    expect(parseSesEvent({ Records: [raw] })[0]).toEqual({ ok: false, error: expect.stringContaining('Records[0].ses.mail.messageId: must be at most 256 characters') });
  });

  it('more than 1,000 envelope recipients', () => {
    const raw = rawRecord({ recipients: Array.from({ length: 1001 }, (_, i) => `r${i}@example.com`) });
    expect(parseSesEvent({ Records: [raw] })[0]).toEqual({ ok: false, error: expect.stringContaining('Records[0].ses.receipt.recipients: must be at most 1000') });
  });
});
