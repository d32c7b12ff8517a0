import { parseAddress, type ParsedAddress } from './address.js';
import { canonicalDomain } from './recipient.js';

/**
 * Address patterns (docs/policy.md "Address patterns"), all case-insensitive:
 *   user@example.com      that address, and any +tagged form of it
 *   user+tag@example.com  only that tag
 *   user+*@example.com    any tagged form, not plain user
 *   *@example.com         the domain only
 *   *@*.example.com       its subdomains at any depth, not the domain itself
 *   @list:NAME            every pattern of a named list
 */
export type AddressPattern =
  | { readonly kind: 'address'; readonly base: string; readonly tag: string | undefined; readonly domain: string }
  | { readonly kind: 'anyTag'; readonly base: string; readonly domain: string }
  | { readonly kind: 'domain'; readonly domain: string }
  | { readonly kind: 'subdomains'; readonly domain: string }
  | { readonly kind: 'list'; readonly name: string };

const LIST_REFERENCE = /^@list:([A-Za-z0-9_.-]+)$/;
// A dot-atom-ish local part (RFC 5321 §4.1.2) without '*', '@' or white space; quoted locals are rare enough to leave out.
const LOCAL = /^[^\s@*"(),:;<>[\]\\]+$/;
const DOMAIN_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

export function parseAddressPattern(raw: string): AddressPattern | undefined {
  const text = raw.trim();
  const list = LIST_REFERENCE.exec(text);
  if (list) return { kind: 'list', name: list[1]! };
  const at = text.lastIndexOf('@');
  if (at <= 0) return undefined;
  const local = text.slice(0, at).toLowerCase();
  const domainPart = text.slice(at + 1);
  const subdomains = domainPart.startsWith('*.');
  const domain = canonicalDomain(subdomains ? domainPart.slice(2) : domainPart);
  if (!isDomain(domain)) return undefined;
  if (subdomains) return local === '*' ? { kind: 'subdomains', domain } : undefined;
  if (local === '*') return { kind: 'domain', domain };
  if (local.endsWith('+*')) {
    const base = local.slice(0, -2);
    return LOCAL.test(base) && !base.includes('+') ? { kind: 'anyTag', base, domain } : undefined;
  }
  if (!LOCAL.test(local)) return undefined;
  const plus = local.indexOf('+');
  return plus > 0
    ? { kind: 'address', base: local.slice(0, plus), tag: local.slice(plus + 1), domain }
    : { kind: 'address', base: local, tag: undefined, domain };
}

function isDomain(domain: string): boolean {
  if (domain.length === 0 || domain.length > 253) return false;
  return domain.split('.').every((label) => DOMAIN_LABEL.test(label));
}

/**
 * A set of patterns compiled for O(labels) lookups, however many patterns it holds: exact
 * addresses and domains in hash sets, subdomain patterns matched by walking the address's
 * parent domains.
 */
export class AddressMatcher {
  private readonly untagged = new Set<string>();
  private readonly tagged = new Set<string>();
  private readonly anyTag = new Set<string>();
  private readonly domains = new Set<string>();
  private readonly parents = new Set<string>();

  /** `lists` resolves @list: references; the caller has checked that every referenced list exists. */
  constructor(patterns: Iterable<AddressPattern>, lists: ReadonlyMap<string, readonly AddressPattern[]> = new Map()) {
    for (const pattern of patterns) this.add(pattern, lists);
  }

  matches(address: ParsedAddress): boolean {
    const baseAddress = `${address.base}@${address.domain}`;
    if (this.untagged.has(baseAddress) || this.domains.has(address.domain)) return true;
    if (address.tag !== undefined && (this.tagged.has(address.full) || this.anyTag.has(baseAddress))) return true;
    if (this.parents.size === 0) return false;
    for (let dot = address.domain.indexOf('.'); dot !== -1; dot = address.domain.indexOf('.', dot + 1)) {
      if (this.parents.has(address.domain.slice(dot + 1))) return true;
    }
    return false;
  }

  matchesRaw(raw: string): boolean {
    const parsed = parseAddress(raw);
    return parsed !== undefined && this.matches(parsed);
  }

  private add(pattern: AddressPattern, lists: ReadonlyMap<string, readonly AddressPattern[]>): void {
    switch (pattern.kind) {
      case 'address':
        if (pattern.tag === undefined) this.untagged.add(`${pattern.base}@${pattern.domain}`);
        else this.tagged.add(`${pattern.base}+${pattern.tag}@${pattern.domain}`);
        return;
      case 'anyTag':
        this.anyTag.add(`${pattern.base}@${pattern.domain}`);
        return;
      case 'domain':
        this.domains.add(pattern.domain);
        return;
      case 'subdomains':
        this.parents.add(pattern.domain);
        return;
      case 'list':
        for (const member of lists.get(pattern.name) ?? []) this.add(member, lists);
        return;
    }
  }
}
