import { parseAddressPattern, type AddressPattern } from './patterns.js';
import type { PolicyDocument } from './policy-schema.js';
import { parseRuleRecipient, type RuleRecipient } from './ses-recipients.js';

// Which addresses a deployment hands the receipt function at all: those its receipt rules list,
// as SES reads them (ses-recipients.ts). A policy rule about other addresses can never match in
// that deployment: a mistake worth a warning at synth.

/** `domain` is `parent` itself (when `orSelf`) or a subdomain of it at any depth. */
function under(domain: string, parent: string, orSelf: boolean): boolean {
  return (orSelf && domain === parent) || domain.endsWith(`.${parent}`);
}

/** Whether some address matching `pattern` is one that `recipient` lets SES pass to the function. */
export function reaches(pattern: Exclude<AddressPattern, { kind: 'list' }>, recipient: RuleRecipient): boolean {
  switch (pattern.kind) {
    case 'address':
    case 'anyTag':
      if (recipient.kind === 'address') return recipient.base === pattern.base && recipient.domain === pattern.domain;
      return recipient.kind === 'domain' ? recipient.domain === pattern.domain : under(pattern.domain, recipient.domain, false);
    case 'domain':
      if (recipient.kind === 'subdomains') return under(pattern.domain, recipient.domain, false);
      return recipient.domain === pattern.domain;
    case 'subdomains':
      // Some subdomain of the pattern's domain is also one the recipient covers.
      if (recipient.kind === 'subdomains') return under(pattern.domain, recipient.domain, true) || under(recipient.domain, pattern.domain, true);
      return under(recipient.domain, pattern.domain, false);
  }
}

/** A recipient condition of the policy that the deployment's rule recipients can never satisfy. */
export interface Unreachable {
  /** `rules[2].when.recipient[0]` (or the list entry it came from). */
  readonly path: string;
  readonly pattern: string;
}

/**
 * Every address pattern in the rules' `recipient` conditions (lists expanded) that no rule
 * recipient reaches. Patterns under `not` are left out: a rule that excludes addresses SES never
 * passes still works.
 */
export function unreachableRecipientPatterns(document: PolicyDocument, ruleRecipients: readonly string[]): Unreachable[] {
  const recipients = ruleRecipients.map(parseRuleRecipient);
  const lists = (document.lists ?? {}) as Record<string, unknown>;
  const found: Unreachable[] = [];
  const check = (text: string, path: string): void => {
    const pattern = parseAddressPattern(text);
    if (pattern === undefined) return;
    if (pattern.kind === 'list') {
      const entries = lists[pattern.name];
      if (Array.isArray(entries)) entries.forEach((entry, i) => typeof entry === 'string' && check(entry, `${path} (lists.${pattern.name}[${i}])`));
      return;
    }
    if (!recipients.some((recipient) => reaches(pattern, recipient))) found.push({ path, pattern: text });
  };
  // Iterative, like the loader: a policy's nesting is bounded, but this need not rely on it.
  const pending: { condition: unknown; path: string }[] = document.rules.map((rule, i) => ({ condition: rule.when, path: `rules[${i}].when` }));
  while (pending.length > 0) {
    const { condition, path } = pending.pop()!;
    if (condition === null || typeof condition !== 'object') continue;
    const c = condition as { recipient?: string | string[]; any?: unknown[]; all?: unknown[] };
    if (typeof c.recipient === 'string') check(c.recipient, `${path}.recipient`);
    else if (Array.isArray(c.recipient)) c.recipient.forEach((text, i) => check(text, `${path}.recipient[${i}]`));
    c.any?.forEach((inner, i) => pending.push({ condition: inner, path: `${path}.any[${i}]` }));
    c.all?.forEach((inner, i) => pending.push({ condition: inner, path: `${path}.all[${i}]` }));
  }
  return found.sort((a, b) => a.path.localeCompare(b.path, 'en', { numeric: true }));
}
