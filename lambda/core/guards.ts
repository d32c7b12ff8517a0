import type { MessageView } from './message.js';
import type { Guards } from './policy-compiler.js';
import { canonicalRecipient, recipientProblem } from './recipient.js';
import { BOUNCE_DECISION_WINDOW_MS } from './window.js';

/** Why a bounce was withheld (docs/policy.md "Guards"), in the order they are checked. */
export const GuardName = {
  WindowExpired: 'window-expired',
  NullSender: 'null-sender',
  Dsn: 'dsn',
  InvalidRecipient: 'invalid-recipient',
  AutoSubmitted: 'auto-submitted',
  MailingList: 'mailing-list',
  TruncatedHeaders: 'truncated-headers',
  SpamOrVirus: 'spam-or-virus',
  UnauthenticatedSender: 'unauthenticated-sender',
  SenderRate: 'sender-rate',
} as const;
export type GuardName = (typeof GuardName)[keyof typeof GuardName];


const REPORTING_LOCAL_PARTS = new Set(['mailer-daemon', 'postmaster']);
const LIST_HEADERS = ['list-id', 'list-unsubscribe', 'list-post'] as const;
const BULK_PRECEDENCE = new Set(['bulk', 'list', 'junk']);

/**
 * The always-on guards that are properties of the message (the first one that trips, or
 * undefined): they come before the per-recipient `invalid-recipient` guard in the guard order.
 */
export function alwaysOnGuard(message: MessageView, now: Date): GuardName | undefined {
  if (now.getTime() - message.receiptTime.getTime() > BOUNCE_DECISION_WINDOW_MS) return GuardName.WindowExpired;
  if (isNullSender(message.sender)) return GuardName.NullSender;
  if (isDeliveryReport(message)) return GuardName.Dsn;
  return undefined;
}

/** The always-on guard of one recipient: SES would refuse the whole SendBounce for an address it cannot take. */
export function recipientGuard(canonical: string): GuardName | undefined {
  return recipientProblem(canonical) === undefined ? undefined : GuardName.InvalidRecipient;
}

/**
 * The configurable guards, after the always-on ones, in their order; each a property of the
 * message, so evaluated once. The sender-rate guard needs the ledger and is applied by the
 * receipt handler after all of these.
 */
export function configuredGuard(message: MessageView, guards: Guards): GuardName | undefined {
  if (guards.skipAutoSubmitted && isAutoSubmitted(message)) return GuardName.AutoSubmitted;
  if (guards.skipMailingLists && isListMail(message)) return GuardName.MailingList;
  if (guards.skipTruncatedHeaders && message.headersIncomplete) return GuardName.TruncatedHeaders;
  if (guards.skipSpamOrVirus && (message.verdicts.spam === 'FAIL' || message.verdicts.virus === 'FAIL')) return GuardName.SpamOrVirus;
  if (guards.requireAuthenticatedSender && message.verdicts.spf !== 'PASS' && message.verdicts.dkim !== 'PASS') {
    return GuardName.UnauthenticatedSender;
  }
  return undefined;
}

/**
 * RFC 5321 §4.5.5 / §6.1: reports are sent with a null reverse-path, and must never be
 * answered. Spelled with spaces or control characters inside the brackets, it is still null.
 */
function isNullSender(sender: string): boolean {
  const bare = sender.replace(/[\s\u0000-\u001f\u007f]+/g, '');
  return bare === '' || bare === '<>';
}

/** RFC 3464 / RFC 6522: a multipart/report, or mail from a reporting mailbox, is itself a bounce. */
function isDeliveryReport(message: MessageView): boolean {
  if ((message.headers.get('content-type') ?? []).some((value) => /^\s*multipart\/report\b/i.test(value))) return true;
  if (REPORTING_LOCAL_PARTS.has(mailboxOf(message.sender))) return true;
  return message.fromAddresses.some((address) => REPORTING_LOCAL_PARTS.has(address.base));
}

/** The local part without its +tag (`mailer-daemon+bounces@`), of an address-ish string; the whole string when it has no '@' (a bare "MAILER-DAEMON"). */
function mailboxOf(raw: string): string {
  const address = canonicalRecipient(raw);
  const at = address.lastIndexOf('@');
  const local = at === -1 ? address : address.slice(0, at);
  const plus = local.indexOf('+');
  return plus > 0 ? local.slice(0, plus) : local;
}

/** RFC 3834 §5: any Auto-Submitted keyword but "no" marks automatic mail; comments and parameters are ignored. */
function isAutoSubmitted(message: MessageView): boolean {
  return (message.headers.get('auto-submitted') ?? []).some((value) => firstToken(value) !== 'no');
}

/** RFC 2369 / RFC 2919 list headers, or the de-facto Precedence: bulk|list|junk. */
function isListMail(message: MessageView): boolean {
  if (LIST_HEADERS.some((name) => message.headers.has(name))) return true;
  return (message.headers.get('precedence') ?? []).some((value) => BULK_PRECEDENCE.has(firstToken(value)));
}

function firstToken(value: string): string {
  return value
    .replace(/\([^)]*\)/g, ' ')
    .split(';')[0]!
    .trim()
    .toLowerCase();
}
