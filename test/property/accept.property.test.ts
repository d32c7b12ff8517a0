import fc from 'fast-check';
import { parseAddress } from '../../lambda/core/address.js';
import { AddressMatcher, parseAddressPattern } from '../../lambda/core/patterns.js';
import { compileAccept, parseRuleRecipient, SesRecipientMatcher, type AcceptPattern } from '../../lambda/core/ses-recipients.js';

// What `accept` compiles to must take exactly what the policy's patterns say (the patterns'
// own matcher, the one rule conditions use), however the patterns repeat or cover each other:
// the receipt rules are what SES refuses by, and `decide` reports by the compiled set.

const DOMAINS = ['example.com', 'eng.example.com', 'a.eng.example.com', 'example.org', 'xn--bcher-kva.example', 'EXAMPLE.com.'];
const USERS = ['alice', 'bob', 'Alice', 'x.y'];

const patternText = fc.oneof(
  fc.tuple(fc.constantFrom(...USERS), fc.constantFrom(...DOMAINS)).map(([user, domain]) => `${user}@${domain}`),
  fc.constantFrom(...DOMAINS).map((domain) => `*@${domain}`),
  fc.constantFrom(...DOMAINS).map((domain) => `*@*.${domain}`),
);
const address = fc
  .tuple(
    fc.constantFrom(...USERS, 'carol'),
    fc.option(fc.constantFrom('tag', 'News', ''), { nil: undefined }),
    fc.option(fc.constantFrom('deep.', 'a.b.', 'eng.'), { nil: undefined }),
    fc.constantFrom(...DOMAINS, 'other.example'),
  )
  .map(([user, tag, prefix, domain]) => `${user}${tag === undefined ? '' : `+${tag}`}@${prefix ?? ''}${domain}`);

describe('accept compiles to receipt rule recipients that take exactly what its patterns say', () => {
  it('for any patterns and any address', () => {
    fc.assert(
      fc.property(fc.array(patternText, { minLength: 1, maxLength: 8 }), fc.array(address, { minLength: 1, maxLength: 10 }), (texts, addresses) => {
        const patterns = texts.map((text) => parseAddressPattern(text)! as AcceptPattern);
        const compiled = compileAccept(patterns);
        const reference = new AddressMatcher(patterns);
        const ses = new SesRecipientMatcher(compiled.ruleRecipients.map(parseRuleRecipient));
        for (const raw of addresses) {
          const parsed = parseAddress(raw);
          expect([raw, compiled.accepts(parsed)]).toEqual([raw, reference.matches(parsed!)]);
          expect([raw, ses.accepts(parsed)]).toEqual([raw, reference.matches(parsed!)]);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('lists each recipient once, none covered by another, and compiles its own output to itself', () => {
    fc.assert(
      fc.property(fc.array(patternText, { minLength: 1, maxLength: 8 }), (texts) => {
        const compiled = compileAccept(texts.map((text) => parseAddressPattern(text)! as AcceptPattern));
        const recipients = compiled.ruleRecipients;
        expect(new Set(recipients).size).toBe(recipients.length);
        for (const [index, recipient] of recipients.entries()) {
          const others = new SesRecipientMatcher(recipients.filter((_, i) => i !== index).map(parseRuleRecipient).filter((r) => r.kind !== 'address'));
          expect([recipient, others.coversOther(parseRuleRecipient(recipient))]).toEqual([recipient, false]);
        }
        const again = compileAccept(recipients.map((r) => parseAddressPattern(r.includes('@') ? r : r.startsWith('.') ? `*@*${r}` : `*@${r}`)! as AcceptPattern));
        expect(again.ruleRecipients).toEqual(recipients);
        expect(compiled.counts.addresses + compiled.counts.domains + compiled.counts.subdomains).toBe(recipients.length);
      }),
      { numRuns: 300 },
    );
  });
});
