import { canonicalRecipient } from './recipient.js';

/** An address split for matching: lowercased, domain in its ASCII (punycode) form, plus-tag apart. */
export interface ParsedAddress {
  /** local@domain, lowercased, as matched by exact patterns. */
  readonly full: string;
  /** The local part without its +tag. */
  readonly base: string;
  /** The tag after the first '+', or undefined when there is none. */
  readonly tag: string | undefined;
  readonly domain: string;
}

/** Splits an envelope or header address, in its canonical form; undefined when it has no local part or no domain. */
export function parseAddress(raw: string): ParsedAddress | undefined {
  const address = canonicalRecipient(raw);
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return undefined;
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  const plus = local.indexOf('+');
  const tagged = plus > 0;
  return {
    full: `${local}@${domain}`,
    base: tagged ? local.slice(0, plus) : local,
    tag: tagged ? local.slice(plus + 1) : undefined,
    domain,
  };
}

/**
 * The addresses of a From-like header value (RFC 5322 §3.4): per mailbox, the angle-addr when
 * there is one, else its bare tokens with an '@'. Quoted strings and comments are skipped, so
 * "boss@bank.example" <x@evil.example> yields only x@evil.example. Linear in the input.
 */
export function headerAddresses(value: string): string[] {
  const found: string[] = [];
  let angle: string[] = [];
  let bare: string[] = [];
  let token = '';
  let inQuote = false;
  let commentDepth = 0;
  let inAngle = false;
  const endToken = (): void => {
    if (token.includes('@')) (inAngle ? angle : bare).push(token);
    token = '';
  };
  const endMailbox = (): void => {
    endToken();
    found.push(...(angle.length > 0 ? angle : bare));
    angle = [];
    bare = [];
    inAngle = false;
  };
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (inQuote) {
      if (c === '\\') i++;
      else if (c === '"') inQuote = false;
      continue;
    }
    if (commentDepth > 0) {
      if (c === '\\') i++;
      else if (c === '(') commentDepth++;
      else if (c === ')') commentDepth--;
      continue;
    }
    if (c === '"') {
      endToken();
      inQuote = true;
    } else if (c === '(') {
      endToken();
      commentDepth = 1;
    } else if (c === '<') {
      endToken();
      inAngle = true;
    } else if (c === '>') {
      endToken();
      inAngle = false;
    } else if (c === ',' || c === ';') {
      endMailbox();
    } else if (c === ':' || c === ' ' || c === '\t' || c === '\r' || c === '\n') {
      endToken();
    } else {
      token += c;
    }
  }
  endMailbox();
  return found;
}
