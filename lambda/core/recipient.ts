import { domainToASCII } from 'node:url';
import { CONTROL_RUNS } from './text.js';

// One canonical form per envelope recipient (docs/policy.md "Recipients"): the key for deciding,
// de-duplicating, the ledger and every SendBounce field, so that two spellings of one address
// are decided once, listed once and bounced at most once.

// Control characters are removed (text.ts). Invisible format characters (a zero-width space)
// are not controls: they stay, and make the address invalid.

/**
 * Control characters removed, trimmed, one pair of angle brackets removed, the local part
 * lowercased, the domain lowercased, without its trailing dot and in A-label (punycode) form.
 * Total: any string has a canonical form, valid or not (see {@link recipientProblem}).
 */
export function canonicalRecipient(raw: string): string {
  let address = raw.replace(CONTROL_RUNS, '').trim();
  if (address.startsWith('<') && address.endsWith('>')) address = address.slice(1, -1).trim();
  const at = address.lastIndexOf('@');
  if (at === -1) return address.toLowerCase();
  return `${address.slice(0, at).toLowerCase()}@${canonicalDomain(address.slice(at + 1))}`;
}

/** Lowercased, no trailing dot, A-labels; a domain that has no A-label form stays as it was, lowercased. */
export function canonicalDomain(raw: string): string {
  const lower = raw.trim().toLowerCase().replace(/\.$/, '');
  if (/^[\x21-\x7e]*$/.test(lower)) return lower;
  return domainToASCII(lower) || lower;
}

// RFC 5321 §4.5.3.1.1 (local part ≤ 64 octets) and §4.5.3.1.2 (domain ≤ 255 octets; 253 in its
// textual form without the root dot, RFC 1035 §2.3.4).
export const MAX_LOCAL_OCTETS = 64;
const MAX_DOMAIN_OCTETS = 253;

/** Whether a local part breaks RFC 5321 §4.1.2's Dot-string: a dot at either end, or two in a row. */
export function breaksDotString(local: string): boolean {
  return /^\.|\.$|\.\./.test(local);
}
/** A local part SES's SendBounce takes: printable ASCII without space, quotes, brackets or '@'. */
const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$/;
/** An LDH label (RFC 1035 §2.3.1, RFC 5890 §2.3.1): 1–63 letters, digits, hyphens, no hyphen at either end. */
const DNS_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * Why a canonical recipient is not an address SES accepts in a SendBounce, or undefined when
 * it is one. One such recipient would make SES refuse the whole call for all the others.
 */
export function recipientProblem(canonical: string): string | undefined {
  const at = canonical.indexOf('@');
  if (at === -1 || canonical.indexOf('@', at + 1) !== -1) return 'not exactly one @';
  const local = canonical.slice(0, at);
  const domain = canonical.slice(at + 1);
  if (local === '') return 'empty local part';
  if (!LOCAL_PART.test(local)) return 'local part is not plain ASCII without spaces or quotes';
  if (breaksDotString(local)) return 'local part has a dot at either end or two in a row';
  if (local.length > MAX_LOCAL_OCTETS) return `local part longer than ${MAX_LOCAL_OCTETS} octets`;
  if (domain.length > MAX_DOMAIN_OCTETS) return `domain longer than ${MAX_DOMAIN_OCTETS} octets`;
  const labels = domain.split('.');
  if (labels.length < 2 || !labels.every((label) => DNS_LABEL.test(label))) return 'domain is not a DNS name';
  return undefined;
}
