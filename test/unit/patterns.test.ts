import { parseAddress, headerAddresses } from '../../lambda/core/address.js';
import { AddressMatcher, parseAddressPattern } from '../../lambda/core/patterns.js';

function matcher(...patterns: string[]): (address: string) => boolean {
  const compiled = new AddressMatcher(patterns.map((text) => parseAddressPattern(text)!));
  return (address) => compiled.matchesRaw(address);
}

describe('address patterns', () => {
  it('match exact addresses case-insensitively', () => {
    const matches = matcher('User@Example.COM');
    expect(matches('user@example.com')).toBe(true);
    expect(matches('USER@EXAMPLE.COM')).toBe(true);
    expect(matches('other@example.com')).toBe(false);
  });

  it('let an untagged pattern match every +tagged form of that user', () => {
    const matches = matcher('user@example.com');
    expect(matches('user+news@example.com')).toBe(true);
    expect(matches('user+a+b@example.com')).toBe(true);
    expect(matches('username@example.com')).toBe(false);
  });

  it('let a tagged pattern match only that tag', () => {
    const matches = matcher('user+news@example.com');
    expect(matches('user+news@example.com')).toBe(true);
    expect(matches('USER+NEWS@example.com')).toBe(true);
    expect(matches('user@example.com')).toBe(false);
    expect(matches('user+other@example.com')).toBe(false);
  });

  it('let user+* match any tagged form but not the plain user', () => {
    const matches = matcher('user+*@example.com');
    expect(matches('user+x@example.com')).toBe(true);
    expect(matches('user+@example.com')).toBe(true);
    expect(matches('user@example.com')).toBe(false);
  });

  it('let *@domain match that domain only, not its subdomains', () => {
    const matches = matcher('*@example.com');
    expect(matches('anyone@example.com')).toBe(true);
    expect(matches('anyone@sub.example.com')).toBe(false);
    expect(matches('anyone@badexample.com')).toBe(false);
  });

  it('let *@*.domain match subdomains at any depth, not the domain itself', () => {
    const matches = matcher('*@*.example.com');
    expect(matches('a@sub.example.com')).toBe(true);
    expect(matches('a@deep.sub.EXAMPLE.com')).toBe(true);
    expect(matches('a@example.com')).toBe(false);
    expect(matches('a@notexample.com')).toBe(false);
  });

  it('match internationalised domains in either spelling', () => {
    const matches = matcher('*@bücher.example');
    expect(matches('kunde@BÜCHER.example')).toBe(true);
    expect(matches('kunde@xn--bcher-kva.example')).toBe(true);
    expect(matcher('*@xn--bcher-kva.example')('kunde@bücher.example')).toBe(true);
  });

  it('resolve @list: references through the named lists', () => {
    const lists = new Map([['staff', ['alice@example.com', '*@*.eng.example.com'].map((t) => parseAddressPattern(t)!)]]);
    const compiled = new AddressMatcher([parseAddressPattern('@list:staff')!], lists);
    expect(compiled.matchesRaw('alice+x@example.com')).toBe(true);
    expect(compiled.matchesRaw('bob@build.eng.example.com')).toBe(true);
    expect(compiled.matchesRaw('bob@example.com')).toBe(false);
  });

  it.each(['example.com', 'user@', '@example.com', 'user@*', '*@*', 'u*er@example.com', 'user@exa mple.com', 'user@*.*.example.com', 'a@-bad.example', '@list:', '@list:a b'])(
    'reject %p as an address pattern',
    (text) => {
      expect(parseAddressPattern(text)).toBeUndefined();
    },
  );

  it('never match an address without a domain', () => {
    expect(matcher('*@example.com')('postmaster')).toBe(false);
  });
});

describe('header addresses', () => {
  it('take the angle address and ignore display names, even ones that look like addresses', () => {
    expect(headerAddresses('"boss@bank.example" <x@evil.example>')).toEqual(['x@evil.example']);
  });

  it('read several mailboxes, bare and angled, and skip comments', () => {
    expect(headerAddresses('a@x.example, Bee <b@y.example>, c@z.example (Carol, c@fake.example)')).toEqual([
      'a@x.example',
      'b@y.example',
      'c@z.example',
    ]);
  });

  it('stay linear on a 100 KB header without an address', () => {
    const started = performance.now();
    expect(headerAddresses('a'.repeat(100_000))).toEqual([]);
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('parse the local part, tag and domain of an address', () => {
    expect(parseAddress('<User+Tag@Example.COM>')).toEqual({ full: 'user+tag@example.com', base: 'user', tag: 'tag', domain: 'example.com' });
  });
});
