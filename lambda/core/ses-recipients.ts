import type { ParsedAddress } from './address.js';
import { parseAddressPattern, type AddressPattern } from './patterns.js';
import { breaksDotString, canonicalDomain, MAX_LOCAL_OCTETS } from './recipient.js';

// What SES itself accepts at RCPT TO. An address that no receipt rule of the active rule set
// lists is answered 550 5.1.1 during the SMTP conversation, recipient by recipient; a rule's
// `user@example.com` also takes `user+anything@example.com` in any case, `example.com` that
// domain only, `.example.com` its subdomains at any depth (SES Developer Guide, "Receipt rule
// recipient conditions"; docs/refusal.md). The policy's `accept` compiles to such recipients,
// and the decisions use this same reading of them, so that what `decide` calls refused is what
// SES refuses.

/** SES rule and rule set names: letters, digits, '.', '_', '-'; start and end with a letter or digit; at most 64 (SES API Reference, ReceiptRule.Name). */
export const SES_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,62}[A-Za-z0-9])?$/;

/**
 * SES email-receiving quotas (SES Developer Guide, "Service quotas for Amazon SES": receipt
 * rules per rule set 200, not adjustable; recipients per receipt rule 100; actions per rule 10).
 */
export const SES_RECEIVING_QUOTAS = {
  recipientsPerRule: 100,
  rulesPerRuleSet: 200,
  actionsPerRule: 10,
} as const;

/** What SES answers at RCPT TO for an address no receipt rule of the active rule set lists. */
export const SES_REFUSAL = { smtpCode: 550, status: '5.1.1' } as const;

/** The most recipients one rule set can list: every rule full. */
export const MAX_ACCEPTED_RECIPIENTS = SES_RECEIVING_QUOTAS.recipientsPerRule * SES_RECEIVING_QUOTAS.rulesPerRuleSet;

/** A receipt rule's recipient, as SES reads it. */
export type RuleRecipient =
  | { readonly kind: 'address'; readonly base: string; readonly domain: string }
  | { readonly kind: 'domain'; readonly domain: string }
  | { readonly kind: 'subdomains'; readonly domain: string };

export function parseRuleRecipient(raw: string): RuleRecipient {
  const text = raw.trim().toLowerCase();
  const at = text.lastIndexOf('@');
  if (at !== -1) {
    const local = text.slice(0, at);
    const plus = local.indexOf('+');
    return { kind: 'address', base: plus > 0 ? local.slice(0, plus) : local, domain: canonicalDomain(text.slice(at + 1)) };
  }
  if (text.startsWith('.')) return { kind: 'subdomains', domain: canonicalDomain(text.slice(1)) };
  return { kind: 'domain', domain: canonicalDomain(text) };
}

/** A rule recipient in the one form a receipt rule lists it: `user@domain`, `domain` or `.domain`. */
function formatRuleRecipient(recipient: RuleRecipient): string {
  switch (recipient.kind) {
    case 'address':
      return `${recipient.base}@${recipient.domain}`;
    case 'domain':
      return recipient.domain;
    case 'subdomains':
      return `.${recipient.domain}`;
  }
}

/** Whether SES takes `address` for a rule set listing `recipients`, by SES's reading of them. */
export class SesRecipientMatcher {
  private readonly addresses = new Set<string>();
  private readonly domains = new Set<string>();
  private readonly parents = new Set<string>();

  constructor(recipients: Iterable<RuleRecipient>) {
    for (const recipient of recipients) {
      if (recipient.kind === 'address') this.addresses.add(`${recipient.base}@${recipient.domain}`);
      else (recipient.kind === 'domain' ? this.domains : this.parents).add(recipient.domain);
    }
  }

  /** `address` with its tag, if any, apart (parseAddress); undefined (no local part or domain) is never taken. */
  accepts(address: ParsedAddress | undefined): boolean {
    if (address === undefined) return false;
    if (this.domains.has(address.domain) || this.addresses.has(`${address.base}@${address.domain}`)) return true;
    return this.parentListed(address.domain);
  }

  /** Whether a proper parent of `domain` is listed as `.parent`. */
  parentListed(domain: string): boolean {
    if (this.parents.size === 0) return false;
    for (let dot = domain.indexOf('.'); dot !== -1; dot = domain.indexOf('.', dot + 1)) {
      if (this.parents.has(domain.slice(dot + 1))) return true;
    }
    return false;
  }

  /** Whether every address `recipient` takes (as a receipt rule's recipient) is one this matcher takes. */
  takesAll(recipient: RuleRecipient): boolean {
    switch (recipient.kind) {
      case 'address':
        return this.accepts({ full: `${recipient.base}@${recipient.domain}`, base: recipient.base, tag: undefined, domain: recipient.domain });
      case 'domain':
        return this.domains.has(recipient.domain) || this.parentListed(recipient.domain);
      case 'subdomains':
        return this.parents.has(recipient.domain) || this.parentListed(recipient.domain);
    }
  }

  /**
   * Whether the domain-wide recipients of this matcher already take every address `recipient`
   * takes, leaving `recipient` itself out: an address under a listed domain or subdomain, a
   * domain or subdomain under a listed `.parent`.
   */
  coversOther(recipient: RuleRecipient): boolean {
    if (recipient.kind === 'address' && this.domains.has(recipient.domain)) return true;
    return this.parentListed(recipient.domain);
  }
}

/** The patterns `accept` may hold, once lists are expanded: untagged addresses, domains and subdomains. */
export type AcceptPattern =
  | (Extract<AddressPattern, { kind: 'address' }> & { readonly tag: undefined })
  | Extract<AddressPattern, { kind: 'domain' | 'subdomains' }>;

/** What `accept` compiles to: the receipt rule recipients, and SES's reading of them. */
export interface AcceptSet {
  /** Canonical, each listed once, none already covered by another (an address under a listed domain), in the policy's order. */
  readonly ruleRecipients: readonly string[];
  readonly counts: {
    readonly addresses: number;
    readonly domains: number;
    readonly subdomains: number;
    /** Patterns left out: repeated, or covered by a domain or subdomain pattern. */
    readonly redundant: number;
  };
  /**
   * The domains of those recipients (`domain` for an address or domain, `.domain` for
   * subdomains), compiled the same way: what the rules list in dry-run, so that SES refuses
   * nothing while the function logs what `accept` would refuse.
   */
  readonly dryRunRecipients: readonly string[];
  /** Receipt rules needed at SES's per-rule quota. */
  readonly rulesNeeded: number;
  /** Whether SES takes this recipient at RCPT TO. */
  readonly accepts: (address: ParsedAddress | undefined) => boolean;
  /** Whether every address a receipt rule recipient takes is one `accept` takes. */
  readonly takesAll: (recipient: RuleRecipient) => boolean;
}

function toRuleRecipient(pattern: AcceptPattern): RuleRecipient {
  return pattern.kind === 'address' ? { kind: 'address', base: pattern.base, domain: pattern.domain } : pattern;
}

/**
 * Compiles accept patterns (lists expanded, each one SES can express) to receipt rule
 * recipients: canonical, each once, none that a domain-wide pattern already takes (wherever
 * that stands), in the policy's order.
 */
export function compileAccept(patterns: readonly AcceptPattern[]): AcceptSet {
  const ruleRecipients = compileRuleRecipients(patterns.map(toRuleRecipient));
  const parsed = ruleRecipients.map(parseRuleRecipient);
  const matcher = new SesRecipientMatcher(parsed);
  // What only synth and the CLI read is made when read: a cold start of the receipt function needs the matcher alone.
  let counts: AcceptSet['counts'] | undefined;
  let dryRunRecipients: readonly string[] | undefined;
  return {
    ruleRecipients,
    get counts() {
      const count = (kind: RuleRecipient['kind']) => parsed.filter((r) => r.kind === kind).length;
      return (counts ??= { addresses: count('address'), domains: count('domain'), subdomains: count('subdomains'), redundant: patterns.length - ruleRecipients.length });
    },
    get dryRunRecipients() {
      return (dryRunRecipients ??= compileRuleRecipients(parsed.map((r): RuleRecipient => (r.kind === 'address' ? { kind: 'domain', domain: r.domain } : r))));
    },
    rulesNeeded: Math.ceil(ruleRecipients.length / SES_RECEIVING_QUOTAS.recipientsPerRule),
    accepts: (address) => matcher.accepts(address),
    takesAll: (recipient) => matcher.takesAll(recipient),
  };
}

/** Canonical, each once, none that a domain-wide recipient of the list already takes, in order. */
function compileRuleRecipients(recipients: readonly RuleRecipient[]): string[] {
  // Covering is transitive (`.example.com` takes `eng.example.com` and everything under
  // `.eng.example.com`), so checking against every domain-wide pattern is checking against
  // those that are kept.
  const domainWide = new SesRecipientMatcher(recipients.filter((recipient) => recipient.kind !== 'address'));
  const kept = new Set<string>();
  for (const recipient of recipients) {
    if (!domainWide.coversOther(recipient)) kept.add(formatRuleRecipient(recipient));
  }
  return [...kept];
}

/** Rule recipients cut into receipt rules of at most SES's per-rule quota, in order. */
export function splitIntoRules(recipients: readonly string[], perRule: number = SES_RECEIVING_QUOTAS.recipientsPerRule): string[][] {
  const rules: string[][] = [];
  for (let start = 0; start < recipients.length; start += perRule) rules.push(recipients.slice(start, start + perRule));
  return rules;
}

/**
 * A domain a receipt rule should list: at least two labels (`*@com` or `*@*.com` would take every
 * verified domain under a top-level domain) and a top-level label that is not all digits (an IP
 * address is not a domain name, RFC 3696 §2).
 */
function domainProblem(domain: string): string | undefined {
  const labels = domain.split('.');
  if (labels.length < 2) return `${domain} is a top-level domain: list the domains themselves`;
  if (/^\d+$/.test(labels.at(-1)!)) return `${domain} is not a domain name (an IP address?): SES receipt rules take domain names`;
  return undefined;
}

const LIST_REFERENCE = /^@list:[A-Za-z0-9_.-]+$/;

/** What the receipt rules list for `accept`: what it compiles to, or in dry-run only its domains (SES then refuses nothing). */
export function acceptRuleRecipients(accept: AcceptSet, dryRun: boolean): readonly string[] {
  return dryRun ? accept.dryRunRecipients : accept.ruleRecipients;
}

/**
 * Why an `accept` entry is not something a receipt rule can list, or undefined when it is one
 * (a list reference is checked entry by entry once the lists are read).
 */
export function acceptProblem(raw: string): string | undefined {
  const text = raw.trim();
  if (LIST_REFERENCE.test(text)) return undefined;
  const pattern = parseAddressPattern(text);
  if (pattern !== undefined) return expressibleProblem(pattern);
  if (/@\[[^\]]*\]$/.test(text)) return 'an address literal ([1.2.3.4]): SES receipt rules take domain names';
  if (/^\/.*\/[a-z]*$/.test(text) || /[\\^$()[\]{}|?]/.test(text) || text.includes('.*')) {
    return 'a regular expression: SES receipt rules list exact addresses and domains only (user@domain, *@domain, *@*.domain, @list:NAME)';
  }
  const at = text.lastIndexOf('@');
  if (at === -1) return `not an address pattern: give user@domain, *@domain or *@*.domain${/^\.?[\w-]+(\.[\w-]+)+$/.test(text) ? ` (for the domain, *@${text.replace(/^\./, '')})` : ''}`;
  const local = text.slice(0, at);
  const domain = text.slice(at + 1);
  if (local === '*' && domain.includes('*')) return 'SES receipt rules take a whole domain (*@domain) or all its subdomains (*@*.domain), not part of a name';
  if (local.includes('*')) return 'SES receipt rules cannot match part of a local part: list the addresses, or *@domain for all of the domain';
  if (domain.includes('*')) return 'a user at every subdomain: SES receipt rules list *@*.domain (every address there) or exact addresses, nothing between';
  return 'not an address pattern SES receipt rules can express: user@domain, *@domain, *@*.domain or @list:NAME';
}

/** Why a parsed pattern cannot be listed in a receipt rule, or undefined. */
export function expressibleProblem(pattern: AddressPattern): string | undefined {
  switch (pattern.kind) {
    case 'anyTag':
      return `SES receipt rules cannot tell tags apart: list ${pattern.base}@${pattern.domain}, which takes it with every tag (and untagged)`;
    case 'address':
      if (pattern.tag !== undefined) return `a tagged address: SES lists ${pattern.base}@${pattern.domain}, which takes every tag of it; accept that instead`;
      // SES does not support SMTPUTF8 (RFC 6531; SES API Reference, Destination): such an address never arrives.
      if (/[^\x21-\x7e]/.test(pattern.base)) return 'a non-ASCII local part: SES does not support SMTPUTF8 (RFC 6531), so no such address can arrive';
      if (pattern.base.length > MAX_LOCAL_OCTETS) return `a local part longer than ${MAX_LOCAL_OCTETS} octets (RFC 5321 §4.5.3.1.1)`;
      if (breaksDotString(pattern.base)) return 'not a valid local part: a dot at either end or two in a row (RFC 5321 §4.1.2)';
      // A local part that starts with '+' has no base for SES's tag matching to fall back on.
      if (pattern.base.startsWith('+')) return "a local part that starts with '+': SES reads what follows a '+' as a tag";
      return domainProblem(pattern.domain);
    case 'domain':
    case 'subdomains':
      return domainProblem(pattern.domain);
    case 'list':
      return undefined;
  }
}
