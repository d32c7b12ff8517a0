// Renders an accepted SendBounce as the RFC 3464 delivery status notification the original
// sender receives: a multipart/report (RFC 6522) with a human-readable part, the
// message/delivery-status part and, when known, the original headers.
import { randomBytes } from 'node:crypto';
import { BOUNCE_DEFAULTS, BounceType, EXTENSION_FIELD_NAME } from '../lambda/core/bounce-types.js';
import { DsnAction, type ExtensionField, type SesBouncedRecipientInfo, type SesSendBounce } from '../lambda/core/send-bounce.js';
import { parseMailbox } from './ses-protocol.js';

export interface HeaderField {
  readonly name: string;
  readonly value: string;
}

export interface DsnMessageOptions {
  /** The bounce's SES message id; becomes the Message-ID's left-hand side. */
  readonly messageId: string;
  /** The bounce's Date, and the Arrival-Date when the request gives none. */
  readonly date: Date;
  /** Headers of the original message: Return-Path gives To, Message-ID gives In-Reply-To. */
  readonly originalHeaders?: readonly HeaderField[];
  /**
   * Reporting-MTA when the request has no MessageDsn (SES then uses its own inbound host).
   * @default 'dns; inbound-smtp.us-east-1.amazonaws.com'
   */
  readonly defaultReportingMta?: string;
}

const CRLF = '\r\n';
const DEFAULT_REPORTING_MTA = 'dns; inbound-smtp.us-east-1.amazonaws.com';
const DEFAULT_FROM_NAME = 'Mail Delivery Subsystem';


/** One recipient's DSN fields after filling in what SES derives from a bare BounceType. */
interface RecipientReport {
  readonly finalRecipient: string;
  readonly action: DsnAction;
  readonly status: string;
  readonly remoteMta?: string;
  readonly diagnosticCode?: string;
  readonly lastAttemptDate?: Date;
  readonly extensionFields: readonly ExtensionField[];
}

export function renderDsnMessage(request: SesSendBounce, options: DsnMessageOptions): string {
  const boundary = `=_ses-bouncer_${randomBytes(12).toString('hex')}`;
  const recipients = request.BouncedRecipientInfoList.map(recipientReport);
  const originalHeaders = options.originalHeaders ?? [];
  const parts = [
    humanReadablePart(request, recipients),
    deliveryStatusPart(request, recipients, options),
    ...(originalHeaders.length > 0 ? [originalHeadersPart(originalHeaders)] : []),
  ];
  const body = parts.map((part) => `--${boundary}${CRLF}${part}`).join(CRLF) + `${CRLF}--${boundary}--${CRLF}`;
  return topHeaders(request, recipients, options, boundary) + CRLF + `This is a MIME-formatted delivery status notification.${CRLF}${CRLF}` + body;
}

function topHeaders(request: SesSendBounce, recipients: readonly RecipientReport[], options: DsnMessageOptions, boundary: string): string {
  const sender = parseMailbox(request.BounceSender);
  const fromAddress = sender?.address ?? request.BounceSender;
  const originalMessageId = headerValue(options.originalHeaders, 'Message-ID');
  const returnPath = returnPathAddress(options.originalHeaders);
  const fields: HeaderField[] = [
    { name: 'From', value: `${encodeDisplayName(sender?.displayName ?? DEFAULT_FROM_NAME)} <${fromAddress}>` },
    ...(returnPath ? [{ name: 'To', value: `<${returnPath}>` }] : []),
    { name: 'Subject', value: outcomeOf(recipients).subject },
    { name: 'Date', value: formatRfc5322Date(options.date) },
    // RFC 5322 §3.6.4: the right-hand side should be a domain the generator controls.
    { name: 'Message-ID', value: `<${options.messageId}@${fromAddress.slice(fromAddress.lastIndexOf('@') + 1)}>` },
    ...(originalMessageId ? [{ name: 'In-Reply-To', value: originalMessageId }, { name: 'References', value: originalMessageId }] : []),
    { name: 'MIME-Version', value: '1.0' },
    // RFC 3834 §5: marks the DSN as automatic so that responders do not answer it.
    { name: 'Auto-Submitted', value: 'auto-replied' },
    { name: 'Content-Type', value: `multipart/report; report-type=delivery-status; boundary="${boundary}"` },
  ];
  return fields.map(formatField).join('');
}

/** The outcome a DSN is named after: any failure makes it a failure report, else any delay a delay report. */
const Outcome = {
  Failure: { subject: 'Delivery Status Notification (Failure)', lead: 'Your message could not be delivered to the following recipients:' },
  Delay: { subject: 'Delivery Status Notification (Delay)', lead: 'Delivery of your message to the following recipients is delayed:' },
  Success: { subject: 'Delivery Status Notification (Success)', lead: 'Delivery report for the following recipients:' },
} as const;

function outcomeOf(recipients: readonly RecipientReport[]): (typeof Outcome)[keyof typeof Outcome] {
  const actions = new Set(recipients.map((r) => r.action));
  if (actions.has(DsnAction.Failed)) return Outcome.Failure;
  if (actions.has(DsnAction.Delayed)) return Outcome.Delay;
  return Outcome.Success;
}

function recipientReport(info: SesBouncedRecipientInfo): RecipientReport {
  const fields = info.RecipientDsnFields;
  if (!fields) {
    const type = info.BounceType ?? BounceType.Undefined;
    return { finalRecipient: info.Recipient, action: DsnAction.Failed, status: BOUNCE_DEFAULTS[type].status, extensionFields: [] };
  }
  return {
    finalRecipient: fields.FinalRecipient ?? info.Recipient,
    action: fields.Action,
    status: fields.Status,
    remoteMta: fields.RemoteMta,
    diagnosticCode: fields.DiagnosticCode,
    ...(fields.LastAttemptDate !== undefined && { lastAttemptDate: new Date(fields.LastAttemptDate) }),
    extensionFields: fields.ExtensionFields ?? [],
  };
}

function humanReadablePart(request: SesSendBounce, recipients: readonly RecipientReport[]): string {
  const lines = [
    ...explanationOf(request).split(/\r\n|\r|\n/),
    '',
    outcomeOf(recipients).lead,
    ...recipients.flatMap((r) => [
      '',
      `    ${r.finalRecipient}`,
      `    Status: ${r.status} (${r.action})`,
      ...(r.diagnosticCode ? [`    Diagnostic: ${r.diagnosticCode}`] : []),
    ]),
    '',
  ];
  const { encoding, body } = encodeText(lines.join(CRLF));
  return formatField({ name: 'Content-Type', value: 'text/plain; charset=utf-8' })
    + formatField({ name: 'Content-Transfer-Encoding', value: encoding })
    + CRLF + body;
}

/** SES generates the explanation from the bounce types when the request has none. */
function explanationOf(request: SesSendBounce): string {
  if (request.Explanation) return request.Explanation;
  const types = new Set(request.BouncedRecipientInfoList.map((r) => r.BounceType ?? BounceType.Undefined));
  return [...types].map((t) => BOUNCE_DEFAULTS[t].explanation).join(' ');
}

/** RFC 3464 §2.1: per-message fields, then one blank-line-separated group per recipient. */
function deliveryStatusPart(request: SesSendBounce, recipients: readonly RecipientReport[], options: DsnMessageOptions): string {
  const dsn = request.MessageDsn;
  const perMessage: HeaderField[] = [
    { name: 'Reporting-MTA', value: dsn?.ReportingMta ?? options.defaultReportingMta ?? DEFAULT_REPORTING_MTA },
    { name: 'Arrival-Date', value: formatRfc5322Date(dsn?.ArrivalDate !== undefined ? new Date(dsn.ArrivalDate) : options.date) },
    ...extensionHeaders(dsn?.ExtensionFields ?? []),
  ];
  const perRecipient = recipients.map((r): HeaderField[] => [
    { name: 'Final-Recipient', value: `rfc822; ${r.finalRecipient}` },
    { name: 'Action', value: r.action },
    { name: 'Status', value: r.status },
    ...(r.remoteMta ? [{ name: 'Remote-MTA', value: r.remoteMta }] : []),
    ...(r.diagnosticCode ? [{ name: 'Diagnostic-Code', value: r.diagnosticCode }] : []),
    ...(r.lastAttemptDate ? [{ name: 'Last-Attempt-Date', value: formatRfc5322Date(r.lastAttemptDate) }] : []),
    ...extensionHeaders(r.extensionFields),
  ]);
  const groups = [perMessage, ...perRecipient].map((group) => group.map(formatField).join(''));
  return formatField({ name: 'Content-Type', value: 'message/delivery-status' }) + CRLF + groups.join(CRLF);
}

/** SES's rule for extension names (1–50 letters, digits, dashes); others could not be header names. */
function extensionHeaders(fields: readonly ExtensionField[]): HeaderField[] {
  return fields.filter((f) => EXTENSION_FIELD_NAME.test(f.Name)).map((f) => ({ name: f.Name, value: f.Value }));
}

/**
 * The original headers as received. A copy should not be rewritten, so UTF-8 values
 * (RFC 6532) stay as they are and the part is declared 8bit; only line breaks and other
 * control characters are neutralised, because they would forge extra header fields.
 */
function originalHeadersPart(headers: readonly HeaderField[]): string {
  // RFC 5322 §2.2: a field name is printable ASCII without the colon.
  const safe = headers.filter((h) => /^[\x21-\x39\x3b-\x7e]+$/.test(h.name));
  const body = safe.map(formatField).join('');
  const encoding = /^[\x00-\x7f]*$/.test(body) ? '7bit' : '8bit';
  return formatField({ name: 'Content-Type', value: 'text/rfc822-headers; charset=utf-8' })
    + formatField({ name: 'Content-Transfer-Encoding', value: encoding })
    + CRLF + body;
}

/**
 * Each run of whitespace with a line break in it becomes one space, other controls a space
 * each. Matched run by run: `\s*[\r\n]+\s*` backtracked over every long run of spaces without
 * a line break, quadratic in its length (a 40,000-space header value took 2 s).
 */
function neutraliseControls(value: string): string {
  return value.replace(/\s+/g, (run) => (/[\r\n]/.test(run) ? ' ' : run)).replace(/\p{Cc}/gu, ' ').trim();
}

function headerValue(headers: readonly HeaderField[] | undefined, name: string): string | undefined {
  const value = headers?.find((h) => h.name.toLowerCase() === name.toLowerCase())?.value;
  if (value === undefined) return undefined;
  const clean = neutraliseControls(value);
  // Only a well-formed msg-id (RFC 5322 §3.6.4) is echoed: anything else could smuggle text into our headers.
  return /^<[\x21-\x3d\x3f-\x7e]+>$/.test(clean) ? clean : undefined;
}

/** The original envelope sender from Return-Path; `<>` (a bounce itself) has none. */
function returnPathAddress(headers: readonly HeaderField[] | undefined): string | undefined {
  const value = headers?.find((h) => h.name.toLowerCase() === 'return-path')?.value;
  if (value === undefined) return undefined;
  const address = /^\s*<?([^<>\s]*)>?\s*$/.exec(value)?.[1];
  return address && parseMailbox(address)?.address === address ? address : undefined;
}

const MAX_WORD = 900;

/**
 * `Name: value` CRLF, folded at whitespace before 78 characters (RFC 5322 §2.2.3). Line breaks
 * in the value are neutralised here too, whoever built it: one would start a forged field.
 */
function formatField(field: HeaderField): string {
  // A word longer than a line could ever hold (RFC 5322 §2.1.1: 998 octets) is cut into pieces;
  // this is a copy for the reader, where a space more inside a hostile 10 KB token does no harm.
  const words = neutraliseControls(field.value)
    .split(' ')
    .flatMap((word) => (word.length > MAX_WORD ? (word.match(new RegExp(`.{1,${MAX_WORD}}`, 'g')) ?? []) : [word]));
  const lines: string[] = [];
  let line = `${field.name}:`;
  for (const word of words) {
    if (line.length + 1 + word.length > 78 && line.length > field.name.length + 1 && word !== '') {
      lines.push(line);
      line = ` ${word}`;
    } else {
      line += ` ${word}`;
    }
  }
  lines.push(line);
  return lines.join(CRLF) + CRLF;
}

/** A display name as an RFC 5322 phrase: atoms as is, a quoted-string for specials, RFC 2047 for non-ASCII. */
function encodeDisplayName(name: string): string {
  if (!/^[\x20-\x7e]*$/.test(name)) return encodeWords(name);
  if (/^[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]+$/.test(name)) return name;
  return `"${name.replace(/(["\\])/g, '\\$1')}"`;
}

/**
 * RFC 2047 B encoded-words of at most 75 characters each (§2), split between characters so
 * that no multi-byte UTF-8 sequence is cut (§5).
 */
function encodeWords(text: string): string {
  const maxBytes = 45; // 45 bytes → 60 base64 characters, + 12 for `=?UTF-8?B??=` ≤ 75
  const words: string[] = [];
  let chunk = '';
  for (const char of text) {
    if (Buffer.byteLength(chunk + char) > maxBytes) {
      words.push(chunk);
      chunk = '';
    }
    chunk += char;
  }
  words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w, 'utf8').toString('base64')}?=`).join(' ');
}

/** 7bit when the text is short-lined ASCII, else quoted-printable UTF-8 (RFC 2045 §6.7). */
function encodeText(text: string): { encoding: '7bit' | 'quoted-printable'; body: string } {
  const lines = text.split(CRLF);
  if (/^[\x20-\x7e\r\n]*$/.test(text) && lines.every((l) => l.length <= 76)) return { encoding: '7bit', body: text };
  return { encoding: 'quoted-printable', body: lines.map(quotedPrintableLine).join(CRLF) };
}

function quotedPrintableLine(line: string): string {
  const bytes = Buffer.from(line, 'utf8');
  const tokens: string[] = [];
  bytes.forEach((byte, i) => {
    const last = i === bytes.length - 1;
    const literal = (byte >= 33 && byte <= 126 && byte !== 61) || ((byte === 32 || byte === 9) && !last);
    tokens.push(literal ? String.fromCharCode(byte) : `=${byte.toString(16).toUpperCase().padStart(2, '0')}`);
  });
  // Soft line breaks keep each encoded line within 76 characters (rule 5), never splitting an =XX.
  const out: string[] = [];
  let current = '';
  for (const token of tokens) {
    if (current.length + token.length > 75) {
      out.push(`${current}=`);
      current = '';
    }
    current += token;
  }
  out.push(current);
  return out.join(CRLF);
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'] as const;

/** RFC 5322 §3.3 date-time in UTC with a numeric zone (`GMT` is the obsolete form, §4.3). */
export function formatRfc5322Date(date: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${DAYS[date.getUTCDay()]}, ${pad(date.getUTCDate())} ${MONTHS[date.getUTCMonth()]} ${date.getUTCFullYear()} `
    + `${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}
