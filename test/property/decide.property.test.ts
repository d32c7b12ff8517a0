import fc from 'fast-check';
import { canonicalRecipient } from '../../lambda/core/recipient.js';
import { decide } from '../../lambda/core/decide.js';
import { parseSesEvent } from '../../lambda/core/event.js';
import { parsePolicy, type CompiledPolicy } from '../../lambda/app/policy-loader.js';
import { rawRecord, SOON_AFTER } from '../support/events.js';

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

// Strings that SES might be made to carry: CR/LF injections, NULs, non-ASCII, long runs.
const hostileText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 60 }),
  fc.constantFrom('\r\nBcc: victim@example.net', '\u0000', '\u2028', 'Ünïcödé ✉', '=?utf-8?b?w7w=?=', 'x'.repeat(5000)),
  fc.string({ maxLength: 30 }).map((s) => `${s}\r\n${s}`),
);
const hostileAddress = fc
  .tuple(hostileText, fc.constantFrom('example.com', 'EXAMPLE.com', 'bücher.example', 'sub.example.org'))
  .map(([local, domain]) => `${local.slice(0, 64) || 'x'}@${domain}`);
const plainAddress = fc.tuple(fc.constantFrom('a', 'b', 'ghost', 'alice', 'user+tag'), fc.constantFrom('example.com', 'example.org', 'x.example.com')).map(([l, d]) => `${l}@${d}`);

const condition = fc.oneof(
  fc.record({ recipient: fc.array(fc.constantFrom('*@example.com', '*@*.example.com', 'a@example.com', 'user@example.com', 'alice+*@example.com'), { minLength: 1, maxLength: 3 }) }),
  fc.record({ sender: fc.constant(['*@partner.example']) }),
  fc.record({ subject: fc.constantFrom('(?i)report', '^$', 'x+') }),
  fc.record({ spam: fc.constantFrom('PASS', 'FAIL'), spf: fc.constantFrom('PASS', 'FAIL', 'GRAY') }),
  fc.record({ not: fc.record({ dkim: fc.constant('PASS') }) }),
);
const bounceType = fc.constantFrom('DoesNotExist', 'MessageTooLarge', 'ExceededQuota', 'ContentRejected', 'TemporaryFailure', 'Undefined');
const rule = fc.oneof(
  fc.record({ when: condition, then: fc.constantFrom('deliver', 'drop') }),
  fc.record({ when: condition, then: fc.constant('bounce'), bounceType }),
);

/** Random policies with every guard at its default; the last rule may bounce everything. */
const policyArbitrary = fc
  .tuple(fc.array(rule, { maxLength: 6 }), fc.boolean(), bounceType, fc.constantFrom('deliver', 'drop'))
  .map(([rules, catchAll, type, fallback]): CompiledPolicy => {
    const all = [...rules, ...(catchAll ? [{ then: 'bounce', bounceType: type }] : [])].map((r, i) => ({ name: `r${i}`, ...r }));
    const document = { version: 1, bounce: { sender: 'mailer-daemon@example.com', reportingMta: 'mx.example.com' }, rules: all, default: fallback };
    return parsePolicy(JSON.stringify(document), { fileName: 'generated.json', format: 'json' });
  });

const bounceEverything = parsePolicy(
  JSON.stringify({
    version: 1,
    bounce: { sender: 'mailer-daemon@example.com', reportingMta: 'mx.example.com' },
    guards: { requireAuthenticatedSender: false, skipSpamOrVirus: false, skipAutoSubmitted: false, skipMailingLists: false },
    rules: [{ name: 'all', then: 'bounce', bounceType: 'DoesNotExist', explanation: 'gone' }],
  }),
  { fileName: 'all.json', format: 'json' },
);

const hostileRecord = fc
  .record({
    recipients: fc.array(fc.oneof(hostileAddress, plainAddress), { minLength: 1, maxLength: 8 }),
    messageId: hostileText.map((s) => (s.slice(0, 200) || 'id')),
    subject: hostileText,
    from: fc.oneof(hostileText, hostileAddress),
    headers: fc.array(fc.record({ name: hostileText, value: hostileText }), { maxLength: 5 }),
  })
  .map(({ recipients, messageId, subject, from, headers }) =>
    rawRecord({ recipients: recipients.map((r) => r.slice(0, 320)), messageId, subject, from, headers }),
  );

describe('decide, for any input', () => {
  it('never throws: invalid events come back as error values', () => {
    const payload = fc.oneof(
      fc.anything(),
      fc.record({ Records: fc.array(fc.anything(), { maxLength: 3 }) }),
      hostileRecord.map((record) => ({ Records: [record] })),
      hostileRecord.chain((record) =>
        fc.constantFrom('ses', 'mail', 'receipt', 'headers', 'recipients').map((key) => {
          const broken = structuredClone(record);
          const target = key === 'ses' ? broken : key === 'mail' || key === 'receipt' ? broken.ses : key === 'headers' ? broken.ses.mail : broken.ses.receipt;
          target[key] = 42;
          return { Records: [broken] };
        }),
      ),
    );
    fc.assert(
      fc.property(payload, policyArbitrary, (event, policy) => {
        for (const result of parseSesEvent(event)) {
          if (result.ok) decide(result.record, policy, SOON_AFTER);
          else expect(typeof result.error).toBe('string');
        }
      }),
      { numRuns: 300 },
    );
  });

  it('never lets a CR, LF or control character reach the SendBounce input', () => {
    fc.assert(
      fc.property(hostileRecord, (raw) => {
        // Next to a plain recipient, so that something is always bounced whatever the hostile one becomes.
        raw.ses.receipt.recipients = [...raw.ses.receipt.recipients, 'plain@example.com'];
        const [result] = parseSesEvent({ Records: [raw] });
        if (!result!.ok) return;
        const input = decide(result!.record, bounceEverything, SOON_AFTER).sendBounce;
        expect(input).not.toBeNull();
        const strings: string[] = [];
        JSON.stringify(input, (_, value) => (typeof value === 'string' ? (strings.push(value), value) : value));
        for (const value of strings) expect(value).not.toMatch(CONTROL);
      }),
      { numRuns: 300 },
    );
  });

  it('never bounces a null-sender, auto-submitted, DSN, spam-FAIL or virus-FAIL message, whatever the rules say', () => {
    const backscatter = fc.constantFrom<Parameters<typeof rawRecord>[0]>(
      { source: '' },
      { source: '<>' },
      { headers: [{ name: 'Auto-Submitted', value: 'auto-replied' }] },
      { headers: [{ name: 'Content-Type', value: 'multipart/report; report-type=delivery-status' }] },
      { source: 'MAILER-DAEMON@mx.example.net' },
      { from: 'postmaster@example.net' },
      { verdicts: { spam: 'FAIL' } },
      { verdicts: { virus: 'FAIL' } },
    );
    fc.assert(
      fc.property(backscatter, policyArbitrary, fc.array(plainAddress, { minLength: 1, maxLength: 5 }), (options, policy, recipients) => {
        const [result] = parseSesEvent({ Records: [rawRecord({ ...options, recipients })] });
        const decision = decide((result as { record: any }).record, policy, SOON_AFTER);
        expect(decision.sendBounce).toBeNull();
        expect(decision.recipients.some((r) => r.action === 'bounce')).toBe(false);
      }),
      { numRuns: 500 },
    );
  });

  it('decides exactly the envelope recipients of the receipt, each canonical form once, in order', () => {
    fc.assert(
      fc.property(hostileRecord, policyArbitrary, (raw, policy) => {
        const [result] = parseSesEvent({ Records: [raw] });
        if (!result!.ok) return;
        const decision = decide(result!.record, policy, SOON_AFTER);
        expect(decision.recipients.map((r) => r.address)).toEqual([...new Set(result!.record.ses.receipt.recipients.map(canonicalRecipient))]);
      }),
      { numRuns: 300 },
    );
  });

  it('decides two spellings of one address once, and alike', () => {
    const spelling = fc.tuple(plainAddress, fc.constantFrom('upper', 'brackets', 'dot', 'spaces', 'control')).map(([address, how]) => {
      const at = address.lastIndexOf('@');
      switch (how) {
        case 'upper':
          return [address, address.toUpperCase()];
        case 'brackets':
          return [address, `<${address}>`];
        case 'dot':
          return [address, `${address}.`];
        case 'spaces':
          return [address, `  ${address}\t`];
        default:
          return [address, `${address.slice(0, at)}\u0000\r\n${address.slice(at)}`];
      }
    });
    fc.assert(
      fc.property(spelling, policyArbitrary, ([one, other], policy) => {
        const [result] = parseSesEvent({ Records: [rawRecord({ recipients: [one!, other!] })] });
        const decision = decide((result as { record: any }).record, policy, SOON_AFTER);
        expect(decision.recipients).toHaveLength(1);
        expect(decision.recipients[0]!.address).toBe(canonicalRecipient(one!));
        expect(decision.sendBounce?.BouncedRecipientInfoList.length ?? 0).toBeLessThanOrEqual(1);
      }),
      { numRuns: 300 },
    );
  });
});
