import { canonicalRecipient, recipientProblem } from '../../lambda/core/recipient.js';

describe('the canonical recipient', () => {
  it.each([
    ['ghost@example.com', 'ghost@example.com'],
    ['<ghost@example.com>', 'ghost@example.com'],
    ['  <Ghost@Example.COM>\r\n', 'ghost@example.com'],
    ['Ghost@Example.com', 'ghost@example.com'],
    ['ghost@example.com.', 'ghost@example.com'],
    ['ghost@bücher.example', 'ghost@xn--bcher-kva.example'],
    ['ghost@XN--BCHER-KVA.example', 'ghost@xn--bcher-kva.example'],
    ['gh\u200bost@example.com', 'gh\u200bost@example.com'],
    ['gh\r\nost@example.com', 'ghost@example.com'],
    ['"john doe"@example.com', '"john doe"@example.com'],
    ['no-at-sign', 'no-at-sign'],
    ['<<a@example.com>>', '<a@example.com>'],
  ])('%j → %j', (raw, canonical) => {
    expect(canonicalRecipient(raw)).toBe(canonical);
  });

  it('is idempotent', () => {
    for (const raw of ['<Ghost@Bücher.Example.>', ' a+b@x.example ', 'x\u0000y@z.example']) {
      expect(canonicalRecipient(canonicalRecipient(raw))).toBe(canonicalRecipient(raw));
    }
  });
});

describe('an address SES takes in a SendBounce', () => {
  it.each([
    ['ghost@example.com', undefined],
    ['user+tag@sub.example.co.uk', undefined],
    ["o'brien@example.com", undefined],
    ['ghost@xn--bcher-kva.example', undefined],
    ['"john doe"@example.com', 'local part is not plain ASCII without spaces or quotes'],
    ['no-at-sign', 'not exactly one @'],
    ['a@b@example.com', 'not exactly one @'],
    ['@example.com', 'empty local part'],
    ['jöhn@example.com', 'local part is not plain ASCII without spaces or quotes'],
    ['gh\u200bost@example.com', 'local part is not plain ASCII without spaces or quotes'],
    ['ghost@example.combcc: victim@example.net', 'not exactly one @'],
    [`${'x'.repeat(65)}@example.com`, 'local part longer than 64 octets'],
    ['a..b@example.com', 'local part has a dot at either end or two in a row'],
    ['.ab@example.com', 'local part has a dot at either end or two in a row'],
    ['ab.@example.com', 'local part has a dot at either end or two in a row'],
    ['a.b@example.com', undefined],
    [`a@${'x'.repeat(250)}.com`, 'domain longer than 253 octets'],
    ['a@localhost', 'domain is not a DNS name'],
    ['a@-bad.example', 'domain is not a DNS name'],
    ['a@exa_mple.com', 'domain is not a DNS name'],
    ['a@[192.0.2.1]', 'domain is not a DNS name'],
  ])('%j: %s', (address, problem) => {
    expect(recipientProblem(address)).toBe(problem);
  });
});
