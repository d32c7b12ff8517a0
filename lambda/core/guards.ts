import type { MessageView } from './message.js';
import type { Guards } from './policy-compiler.js';
import { BOUNCE_DECISION_WINDOW_MS } from './window.js';

/** Why a bounce was withheld (SPEC §4), in the order they are checked. */
export const GuardName = {
  WindowExpired: 'window-expired',
  NullSender: 'null-sender',
  Dsn: 'dsn',
  AutoSubmitted: 'auto-submitted',
  MailingList: 'mailing-list',
  SpamOrVirus: 'spam-or-virus',
  UnauthenticatedSender: 'unauthenticated-sender',
  SenderRate: 'sender-rate',
} as const;
export type GuardName = (typeof GuardName)[keyof typeof GuardName];


const REPORTING_LOCAL_PARTS = new Set(['mailer-daemon', 'postmaster']);
const LIST_HEADERS = ['list-id', 'list-unsubscribe', 'list-post'] as const;
const BULK_PRECEDENCE = new Set(['bulk', 'list', 'junk']);

/**
 * The first guard that stops any bounce of this message, or undefined. Every guard here is a
 * property of the message, so it is evaluated once, not per recipient. The sender-rate guard
 * needs the ledger and is applied by the receipt handler after this.
 */
export function messageGuard(message: MessageView, guards: Guards, now: Date): GuardName | undefined {
  if (now.getTime() - message.receiptTime.getTime() > BOUNCE_DECISION_WINDOW_MS) return GuardName.WindowExpired;
  if (isNullSender(message.sender)) return GuardName.NullSender;
  if (isDeliveryReport(message)) return GuardName.Dsn;
  if (guards.skipAutoSubmitted && isAutoSubmitted(message)) return GuardName.AutoSubmitted;
  if (guards.skipMailingLists && isListMail(message)) return GuardName.MailingList;
  if (guards.skipSpamOrVirus && (message.verdicts.spam === 'FAIL' || message.verdicts.virus === 'FAIL')) return GuardName.SpamOrVirus;
  if (guards.requireAuthenticatedSender && message.verdicts.spf !== 'PASS' && message.verdicts.dkim !== 'PASS') {
    return GuardName.UnauthenticatedSender;
  }
  return undefined;
}

/** RFC 5321 §4.5.5 / §6.1: reports are sent with a null reverse-path, and must never be answered. */
function isNullSender(sender: string): boolean {
  return sender === '' || sender === '<>';
}

/** RFC 3464 / RFC 6522: a multipart/report, or mail from a reporting mailbox, is itself a bounce. */
function isDeliveryReport(message: MessageView): boolean {
  if ((message.headers.get('content-type') ?? []).some((value) => /^\s*multipart\/report\b/i.test(value))) return true;
  if (REPORTING_LOCAL_PARTS.has(localPartOf(message.sender))) return true;
  return message.fromAddresses.some((address) => REPORTING_LOCAL_PARTS.has(address.full.slice(0, address.full.lastIndexOf('@'))));
}

/** The local part of an address-ish string; the whole string when it has no '@' (a bare "MAILER-DAEMON"). */
function localPartOf(raw: string): string {
  const address = raw.replace(/^<|>$/g, '').trim().toLowerCase();
  const at = address.lastIndexOf('@');
  return at === -1 ? address : address.slice(0, at);
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
