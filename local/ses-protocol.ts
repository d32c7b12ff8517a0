// The SES v1 (2010-12-01) awsQuery wire protocol for SendBounce: the form-encoded request the
// AWS SDKs and the AWS CLI send, SES's validation of it, and SES's XML answers.
import { randomUUID } from 'node:crypto';
import { BounceType, EXTENSION_FIELD_NAME, STANDARD_DSN_FIELDS } from '../lambda/core/bounce-types.js';
import { ISO_DATE_TIME_WITH_ZONE } from '../lambda/core/text.js';

export const SES_API_VERSION = '2010-12-01';
const SES_XML_NAMESPACE = `http://ses.amazonaws.com/doc/${SES_API_VERSION}/`;

export { BounceType } from '../lambda/core/bounce-types.js';

export { DsnAction, type ExtensionField } from '../lambda/core/send-bounce.js';
import { DsnAction, type ExtensionField, type SesBouncedRecipientInfo, type SesMessageDsn, type SesRecipientDsnFields, type SesSendBounce } from '../lambda/core/send-bounce.js';
/** A validated SendBounce request: the core's SES model (lambda/core/send-bounce.ts), dates as ISO strings. */
export type SendBounceRequest = SesSendBounce;

/** The error codes this endpoint answers with, as SES spells them. */
export const SesErrorCode = {
  InvalidAction: 'InvalidAction',
  MissingAction: 'MissingAction',
  MissingAuthenticationToken: 'MissingAuthenticationToken',
  ValidationError: 'ValidationError',
  InvalidParameterValue: 'InvalidParameterValue',
  InvalidQueryParameter: 'InvalidQueryParameter',
  MessageRejected: 'MessageRejected',
  Throttling: 'Throttling',
  InternalFailure: 'InternalFailure',
} as const;
export type SesErrorCode = (typeof SesErrorCode)[keyof typeof SesErrorCode];

/**
 * HTTP status per code, as SES documents them:
 * - https://docs.aws.amazon.com/ses/latest/APIReference/CommonErrors.html
 * - https://docs.aws.amazon.com/ses/latest/DeveloperGuide/api-error-codes.html
 *   (awsdocs/amazon-ses-developer-guide, doc-source/api-error-codes.md)
 * - MessageRejected, the one error SendBounce documents:
 *   https://docs.aws.amazon.com/ses/latest/APIReference/API_SendBounce.html
 * SES answers Throttling ("Maximum sending rate exceeded.") with 400, not 429. ValidationError
 * is on neither list: it is what SES's model layer answers to a missing required member or a
 * value outside an enum ("2 validation errors detected: Value null at 'message' failed to
 * satisfy constraint: Member must not be null; …", as reported from SES in
 * https://github.com/aws-amplify/aws-sdk-ios/issues/27), a client error like the others.
 * SES documents no code for a request too large to read; this endpoint answers that with
 * InvalidParameterValue, "an invalid or out-of-range value was supplied".
 */
const HTTP_STATUS: Readonly<Record<SesErrorCode, number>> = {
  InvalidAction: 400,
  MissingAction: 400,
  MissingAuthenticationToken: 403,
  ValidationError: 400,
  InvalidParameterValue: 400,
  InvalidQueryParameter: 400,
  MessageRejected: 400,
  Throttling: 400,
  InternalFailure: 500,
};

export interface SesError {
  readonly code: SesErrorCode;
  readonly message: string;
  readonly httpStatus: number;
  /** `Receiver` for the service's own failures, `Sender` for the caller's. */
  readonly type: 'Sender' | 'Receiver';
}

export function sesError(code: SesErrorCode, message: string): SesError {
  const httpStatus = HTTP_STATUS[code];
  return { code, message, httpStatus, type: httpStatus >= 500 ? 'Receiver' : 'Sender' };
}

export const THROTTLING_MESSAGE = 'Maximum sending rate exceeded.';

export type SendBounceParse =
  | { readonly ok: true; readonly request: SendBounceRequest }
  | { readonly ok: false; readonly error: SesError };

/**
 * Bounds on field sizes and counts. SES documents only the extension-field ones
 * (https://docs.aws.amazon.com/ses/latest/APIReference/API_ExtensionField.html); its model has
 * no other length limit and no maximum number of recipients. The others are this endpoint's
 * own: they keep every rendered header line within RFC 5322 §2.1.1's 998 characters and the
 * report a sane size, and ses-bouncer itself sends at most 50 recipients a call.
 */
export const SendBounceLimits = {
  /** RFC 5321 §4.5.3.1.3: a path is at most 256 octets including the angle brackets. */
  addressLength: 254,
  mailboxLength: 512,
  messageIdLength: 255,
  arnLength: 2048,
  mtaLength: 512,
  diagnosticCodeLength: 998,
  explanationLength: 10_000,
  /** RFC 5321 §4.5.3.1.8: the minimum number of recipients a server must accept for one message. */
  recipients: 100,
  extensionFields: 20,
  extensionNameLength: 50,
  extensionValueLength: 2048,
} as const;

/** An error message names this many problems and counts the rest, each problem cut to a bounded length. */
export const ErrorMessageLimits = {
  listedProblems: 5,
  problemLength: 300,
} as const;

// RFC 3463 §2: class "." subject "." detail, with 1–3 digit subject and detail.
const DSN_STATUS = /^[245]\.\d{1,3}\.\d{1,3}$/;
// RFC 3464 §2.2.2/§2.3.6: `mta-name-type ; mta-name` and `diagnostic-type ; *text`.
const TYPED_VALUE = /^[A-Za-z0-9-]+;\s*\S/;
const CONTROL = /\p{Cc}/u;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
// RFC 5322 §3.2.3 atext plus the dots of a dot-atom; quoted local parts are not accepted.
const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$/;
// Non-ASCII (IDN) domains must arrive as A-labels: SES v1 does not speak SMTPUTF8 (RFC 6531).
const DOMAIN = /^(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;
const MEMBER_INDEX = /^\d+$/;

export interface Mailbox {
  readonly displayName?: string;
  readonly address: string;
}

/**
 * `addr@domain` or `Display Name <addr@domain>` (display name optionally quoted); undefined when
 * neither. Found with index searches, not a backtracking pattern, so time is linear in the length.
 */
export function parseMailbox(value: string): Mailbox | undefined {
  const open = value.endsWith('>') ? value.lastIndexOf('<') : -1;
  const named = open >= 0 && value.indexOf('>', open) === value.length - 1;
  const address = named ? value.slice(open + 1, -1) : value;
  if (!isAddress(address)) return undefined;
  const rawName = named ? value.slice(0, open).trim() : '';
  const displayName = rawName.startsWith('"') && rawName.endsWith('"') && rawName.length >= 2
    ? rawName.slice(1, -1).replace(/\\(.)/g, '$1')
    : rawName;
  return displayName ? { displayName, address } : { address };
}

export function isAddress(value: string): boolean {
  const at = value.lastIndexOf('@');
  return at > 0 && LOCAL_PART.test(value.slice(0, at)) && !value.startsWith('.')
    && !value.slice(0, at).endsWith('.') && !value.includes('..') && DOMAIN.test(value.slice(at + 1));
}

/** Cuts a value quoted in a message. */
export function truncate(value: string, max = 64): string {
  return value.length > max ? `${value.slice(0, max)}…` : value;
}

const FATAL_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Reads `application/x-www-form-urlencoded` bytes (an awsQuery POST body, or the query string
 * of a GET) into `params`, in one pass. Unlike URLSearchParams it refuses what it would have to
 * guess at: a parameter given twice (awsQuery names every list member by its own number, so no
 * client sends one twice, and which value counts would be a guess) and bytes that are not UTF-8
 * after percent-decoding (URLSearchParams turns them into U+FFFD silently). A `%` not followed
 * by two hex digits stays as it is, as URLSearchParams keeps it.
 */
export function readQueryForm(bytes: Uint8Array, params: Map<string, string>): SesError | undefined {
  for (let start = 0; start <= bytes.length;) {
    let end = bytes.indexOf(0x26 /* & */, start);
    if (end < 0) end = bytes.length;
    if (end > start) {
      const pair = bytes.subarray(start, end);
      const eq = pair.indexOf(0x3d /* = */);
      const key = formDecode(eq < 0 ? pair : pair.subarray(0, eq));
      if (key === undefined) return sesError(SesErrorCode.InvalidQueryParameter, 'A parameter name is not valid UTF-8.');
      const value = eq < 0 ? '' : formDecode(pair.subarray(eq + 1));
      if (value === undefined) return sesError(SesErrorCode.InvalidParameterValue, `The value of ${truncate(printable(key))} is not valid UTF-8.`);
      if (params.has(key)) return sesError(SesErrorCode.InvalidQueryParameter, `The parameter ${truncate(printable(key))} is given more than once.`);
      params.set(key, value);
    }
    start = end + 1;
  }
  return undefined;
}

/** Percent-decodes (with `+` as space) and reads the bytes as UTF-8; undefined when they are not UTF-8. */
function formDecode(raw: Uint8Array): string | undefined {
  let bytes = raw;
  if (raw.includes(0x25 /* % */) || raw.includes(0x2b /* + */)) {
    const out = new Uint8Array(raw.length);
    let length = 0;
    for (let i = 0; i < raw.length; i += 1) {
      const byte = raw[i]!;
      const high = byte === 0x25 && i + 2 < raw.length ? hexValue(raw[i + 1]!) : -1;
      const low = high >= 0 ? hexValue(raw[i + 2]!) : -1;
      if (low >= 0) {
        out[length++] = high * 16 + low;
        i += 2;
      } else {
        out[length++] = byte === 0x2b ? 0x20 : byte;
      }
    }
    bytes = out.subarray(0, length);
  }
  try {
    return FATAL_UTF8.decode(bytes);
  } catch {
    return undefined;
  }
}

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  return -1;
}

const CONTROL_ESCAPES: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/** Control characters (and the line separators U+2028, U+2029) escaped as `\n`, `\u0000`…, for a value quoted in a message or a log line. */
export function printable(value: string): string {
  return value.replace(/[\p{Cc}\u2028\u2029]/gu, (c) => CONTROL_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Reads and validates a SendBounce request from its awsQuery parameters. Shape violations
 * (a required member missing, a value outside an enum) are reported all at once as SES's
 * model layer does (`ValidationError`, "N validation errors detected: …"), the first few
 * named and the rest counted; semantic ones (malformed address, status, date, length,
 * control characters) as `InvalidParameterValue`, the first one found.
 *
 * One pass over the parameters builds a tree of their dotted names; reading it is a lookup
 * per member, so the time is linear in the size of the request.
 */
export function parseSendBounce(params: Iterable<readonly [string, string]>): SendBounceParse {
  const root = new ParamNode();
  for (const [key, value] of params) {
    if (!root.insert(key, value)) {
      return { ok: false, error: sesError(SesErrorCode.InvalidQueryParameter, `The parameter ${truncate(printable(key))} is given more than once.`) };
    }
  }
  const reader = new ProblemReport();
  const request = readRequest(reader, root);
  if (reader.shapeCount > 0) return { ok: false, error: sesError(SesErrorCode.ValidationError, reader.validationMessage()) };
  if (reader.valueError !== undefined) return { ok: false, error: sesError(SesErrorCode.InvalidParameterValue, reader.valueError) };
  return { ok: true, request };
}

/**
 * The deepest parameter SendBounce reads has 8 dotted segments
 * (BouncedRecipientInfoList.member.N.RecipientDsnFields.ExtensionFields.member.M.Name);
 * whatever follows the 8th dot stays in the 8th segment, so a name of a thousand dots costs
 * one node per segment read, not a node per dot.
 */
const MAX_DEPTH = 8;

/** A parameter name's dotted segments, at most MAX_DEPTH: the last keeps whatever dots follow. Linear in the name. */
function segmentsOf(key: string): string[] {
  const segments: string[] = [];
  let start = 0;
  for (let depth = 1; ; depth += 1) {
    const dot = depth < MAX_DEPTH ? key.indexOf('.', start) : -1;
    segments.push(dot < 0 ? key.slice(start) : key.slice(start, dot));
    if (dot < 0) return segments;
    start = dot + 1;
  }
}

/** One dotted segment of parameter names: `a.b=v` is root → a → b, with value v. */
class ParamNode {
  value: string | undefined;
  private children: Map<string, ParamNode> | undefined;

  get(name: string): ParamNode | undefined {
    return this.children?.get(name);
  }

  /** False when the name was already given: distinct names are distinct nodes. */
  insert(key: string, value: string): boolean {
    const leaf = segmentsOf(key).reduce((node: ParamNode, segment) => node.child(segment), this);
    if (leaf.value !== undefined) return false;
    leaf.value = value;
    return true;
  }

  /** The child named `segment`, made if it is not there yet. */
  private child(segment: string): ParamNode {
    this.children ??= new Map();
    let next = this.children.get(segment);
    if (next === undefined) {
      next = new ParamNode();
      this.children.set(segment, next);
    }
    return next;
  }

  /** The members of the awsQuery list here (`member.N.*`), ascending by N; awsQuery numbers them from 1. */
  members(): [string, ParamNode][] {
    const list = this.get('member')?.children;
    if (list === undefined) return [];
    const members: [string, ParamNode][] = [];
    for (const entry of list) if (MEMBER_INDEX.test(entry[0])) members.push(entry);
    return members.sort((a, b) => Number(a[0]) - Number(b[0]));
  }
}

/** The problems found while reading: every shape error counted, a few kept, and the first value error. */
class ProblemReport {
  shapeCount = 0;
  private readonly shapeErrors: string[] = [];
  valueError: string | undefined;

  shape(message: string): void {
    this.shapeCount += 1;
    if (this.shapeErrors.length < ErrorMessageLimits.listedProblems) this.shapeErrors.push(truncate(message, ErrorMessageLimits.problemLength));
  }

  invalid(message: string): void {
    this.valueError ??= truncate(message, ErrorMessageLimits.problemLength);
  }

  validationMessage(): string {
    const count = this.shapeCount;
    const noun = count === 1 ? 'validation error' : 'validation errors';
    const rest = count - this.shapeErrors.length;
    const more = rest > 0 ? `; … and ${rest.toLocaleString('en-US')} more` : '';
    return `${count.toLocaleString('en-US')} ${noun} detected: ${this.shapeErrors.join('; ')}${more}`;
  }

  /** A scalar; the empty string counts as absent, as an empty required value is no value. */
  optional(node: ParamNode | undefined): string | undefined {
    const value = node?.value;
    return value === undefined || value === '' ? undefined : value;
  }

  required(node: ParamNode | undefined, path: string): string {
    const value = this.optional(node);
    if (value === undefined) this.shape(`Value null at '${path}' failed to satisfy constraint: Member must not be null`);
    return value ?? '';
  }

  enumValue<T extends string>(node: ParamNode | undefined, path: string, values: readonly T[], required: boolean): T | undefined {
    const value = required ? this.required(node, path) : this.optional(node);
    if (value === undefined || value === '') return undefined;
    if ((values as readonly string[]).includes(value)) return value as T;
    this.shape(`Value '${truncate(value)}' at '${path}' failed to satisfy constraint: Member must satisfy enum value set: [${values.join(', ')}]`);
    return undefined;
  }
}

function readRequest(r: ProblemReport, root: ParamNode): SendBounceRequest {
  const OriginalMessageId = r.required(root.get('OriginalMessageId'), 'originalMessageId');
  if (OriginalMessageId) checkText(r, 'OriginalMessageId', OriginalMessageId, SendBounceLimits.messageIdLength, true);
  const BounceSender = r.required(root.get('BounceSender'), 'bounceSender');
  if (BounceSender) checkMailbox(r, 'BounceSender', BounceSender);
  const Explanation = r.optional(root.get('Explanation'));
  if (Explanation !== undefined) checkText(r, 'Explanation', Explanation, SendBounceLimits.explanationLength, false);
  const BounceSenderArn = r.optional(root.get('BounceSenderArn'));
  if (BounceSenderArn !== undefined) checkText(r, 'BounceSenderArn', BounceSenderArn, SendBounceLimits.arnLength, true);
  const dsn = root.get('MessageDsn');
  const MessageDsn = dsn === undefined ? undefined : readMessageDsn(r, dsn);
  const BouncedRecipientInfoList = readRecipients(r, root.get('BouncedRecipientInfoList'));
  return omitUndefined({ OriginalMessageId, BounceSender, Explanation, MessageDsn, BouncedRecipientInfoList, BounceSenderArn });
}

function readMessageDsn(r: ProblemReport, dsn: ParamNode): SesMessageDsn {
  const ReportingMta = r.required(dsn.get('ReportingMta'), 'messageDsn.reportingMta');
  if (ReportingMta) checkTyped(r, 'MessageDsn.ReportingMta', ReportingMta, SendBounceLimits.mtaLength);
  const ArrivalDate = readDate(r, 'MessageDsn.ArrivalDate', dsn.get('ArrivalDate'));
  const ExtensionFields = readExtensionFields(r, dsn.get('ExtensionFields'), 'MessageDsn.ExtensionFields', 'messageDsn.extensionFields');
  return omitUndefined({ ReportingMta, ArrivalDate, ExtensionFields });
}

function readRecipients(r: ProblemReport, list: ParamNode | undefined): SesBouncedRecipientInfo[] {
  const prefix = 'BouncedRecipientInfoList';
  if (list === undefined) {
    r.required(undefined, 'bouncedRecipientInfoList');
    return [];
  }
  const members = list.members();
  // SES's model: BouncedRecipientInfoList is required and has at least one member.
  if (members.length === 0) r.invalid('BouncedRecipientInfoList must contain at least one BouncedRecipientInfo.');
  if (members.length > SendBounceLimits.recipients) {
    r.invalid(`BouncedRecipientInfoList has ${members.length} members; at most ${SendBounceLimits.recipients} are allowed.`);
  }
  return members.map(([n, member]) => readRecipient(r, member, `${prefix}.member.${n}`, `bouncedRecipientInfoList.${n}.member`));
}

function readRecipient(r: ProblemReport, member: ParamNode, key: string, path: string): SesBouncedRecipientInfo {
  const Recipient = r.required(member.get('Recipient'), `${path}.recipient`);
  if (Recipient) checkAddress(r, `${key}.Recipient`, Recipient);
  const RecipientArn = r.optional(member.get('RecipientArn'));
  if (RecipientArn !== undefined) checkText(r, `${key}.RecipientArn`, RecipientArn, SendBounceLimits.arnLength, true);
  const bounceType = r.enumValue(member.get('BounceType'), `${path}.bounceType`, Object.values(BounceType), false);
  const dsnFields = member.get('RecipientDsnFields');
  // SES's model: each BouncedRecipientInfo needs a BounceType or RecipientDsnFields.
  if (r.optional(member.get('BounceType')) === undefined && dsnFields === undefined) {
    r.invalid(`${key}: either BounceType or RecipientDsnFields must be given.`);
  }
  const RecipientDsnFields = dsnFields === undefined ? undefined : readDsnFields(r, dsnFields, `${key}.RecipientDsnFields`, `${path}.recipientDsnFields`);
  return omitUndefined({ Recipient, RecipientArn, BounceType: bounceType, RecipientDsnFields });
}

function readDsnFields(r: ProblemReport, fields: ParamNode, key: string, path: string): SesRecipientDsnFields {
  const FinalRecipient = r.optional(fields.get('FinalRecipient'));
  if (FinalRecipient !== undefined) {
    // SES writes `Final-Recipient: rfc822; <FinalRecipient>` itself; a prefix here would be doubled.
    if (/^\s*rfc822\s*;/i.test(FinalRecipient)) {
      r.invalid(`${key}.FinalRecipient must be a bare address: do not prepend "rfc822;", Amazon SES adds it.`);
    } else {
      checkAddress(r, `${key}.FinalRecipient`, FinalRecipient);
    }
  }
  const Action = r.enumValue(fields.get('Action'), `${path}.action`, Object.values(DsnAction), true) ?? DsnAction.Failed;
  const Status = r.required(fields.get('Status'), `${path}.status`);
  if (Status && !DSN_STATUS.test(Status)) {
    r.invalid(`${key}.Status '${truncate(printable(Status))}' is not an RFC 3463 status code (class.subject.detail, e.g. 5.1.1).`);
  }
  const RemoteMta = r.optional(fields.get('RemoteMta'));
  if (RemoteMta !== undefined) checkTyped(r, `${key}.RemoteMta`, RemoteMta, SendBounceLimits.mtaLength);
  const DiagnosticCode = r.optional(fields.get('DiagnosticCode'));
  if (DiagnosticCode !== undefined) checkTyped(r, `${key}.DiagnosticCode`, DiagnosticCode, SendBounceLimits.diagnosticCodeLength);
  const LastAttemptDate = readDate(r, `${key}.LastAttemptDate`, fields.get('LastAttemptDate'));
  const ExtensionFields = readExtensionFields(r, fields.get('ExtensionFields'), `${key}.ExtensionFields`, `${path}.extensionFields`);
  return omitUndefined({ FinalRecipient, Action, RemoteMta, Status, DiagnosticCode, LastAttemptDate, ExtensionFields });
}

/**
 * SES's ExtensionField: Name and Value required; the name 1 to 50 letters, digits and dashes;
 * the value 2048 characters or fewer, without CR or LF
 * (https://docs.aws.amazon.com/ses/latest/APIReference/API_ExtensionField.html).
 */
function readExtensionFields(r: ProblemReport, list: ParamNode | undefined, key: string, path: string): ExtensionField[] | undefined {
  const members = list?.members() ?? [];
  if (members.length === 0) return undefined;
  if (members.length > SendBounceLimits.extensionFields) {
    r.invalid(`${key} has ${members.length} members; at most ${SendBounceLimits.extensionFields} are allowed.`);
  }
  return members.map(([n, member]) => {
    const Name = r.required(member.get('Name'), `${path}.${n}.member.name`);
    const Value = r.required(member.get('Value'), `${path}.${n}.member.value`);
    if (Name && !EXTENSION_FIELD_NAME.test(Name)) {
      r.invalid(`${key}.member.${n}.Name must be 1 to 50 characters of a-z, A-Z, 0-9 and dashes.`);
    } else if (STANDARD_DSN_FIELDS.has(Name.toLowerCase())) {
      r.invalid(`${key}.member.${n}.Name '${Name}' is a standard RFC 3464 field, not an extension field.`);
    }
    if (Value) checkText(r, `${key}.member.${n}.Value`, Value, SendBounceLimits.extensionValueLength, true);
    return { Name, Value };
  });
}

/** An ISO 8601 date-time with a zone, as the instant it names (`toISOString`). */
function readDate(r: ProblemReport, key: string, node: ParamNode | undefined): string | undefined {
  const value = r.optional(node);
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (!ISO_DATE_TIME_WITH_ZONE.test(value) || Number.isNaN(date.getTime())) {
    r.invalid(`${key} '${truncate(printable(value))}' is not an ISO 8601 timestamp.`);
    return undefined;
  }
  return date.toISOString();
}

/**
 * Rejects control characters in every field: each one ends up in a header or a DSN field,
 * where CR or LF would start a new field (header injection). DSN fields must be US-ASCII
 * (RFC 3464 §2.1: they are RFC 822 header fields), so `asciiOnly` is set for those. True when
 * the value is within its length, so that the callers' format checks only ever see bounded text.
 */
function checkText(r: ProblemReport, key: string, value: string, maxLength: number, asciiOnly: boolean): boolean {
  if (CONTROL.test(value)) r.invalid(`${key} must not contain control characters such as CR or LF.`);
  else if (asciiOnly && !PRINTABLE_ASCII.test(value)) r.invalid(`${key} must contain only printable US-ASCII characters.`);
  if (value.length <= maxLength) return true;
  r.invalid(`${key} is ${value.length} characters long; at most ${maxLength} are allowed.`);
  return false;
}

function checkTyped(r: ProblemReport, key: string, value: string, maxLength: number): void {
  if (checkText(r, key, value, maxLength, true) && !TYPED_VALUE.test(value)) {
    r.invalid(`${key} '${truncate(value)}' must have the form "type; value" (RFC 3464), e.g. "dns; mx.example.com".`);
  }
}

function checkAddress(r: ProblemReport, key: string, value: string): void {
  if (!checkText(r, key, value, SendBounceLimits.addressLength, true)) return;
  if (!value.includes('@')) r.invalid(`${key}: Missing final '@domain'`);
  else if (!isAddress(value)) r.invalid(`${key}: Illegal address`);
}

function checkMailbox(r: ProblemReport, key: string, value: string): void {
  if (!checkText(r, key, value, SendBounceLimits.mailboxLength, false)) return;
  if (!value.includes('@')) r.invalid(`${key}: Missing final '@domain'`);
  else if (!parseMailbox(value)) r.invalid(`${key}: Illegal address`);
}

function omitUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

/**
 * A message id shaped like SES's: `0102` + the time in milliseconds as 12 hex digits, a UUID,
 * and `-000000` (e.g. `0102018c6f1a2b3c-1b4e…-000000`).
 */
export function newSesMessageId(now: number): string {
  return `0102${Math.floor(now).toString(16).padStart(12, '0')}-${randomUUID()}-000000`;
}

export function serializeSendBounceResponse(messageId: string, requestId: string): string {
  return (
    `<SendBounceResponse xmlns="${SES_XML_NAMESPACE}">\n` +
    `  <SendBounceResult>\n    <MessageId>${escapeXml(messageId)}</MessageId>\n  </SendBounceResult>\n` +
    `  <ResponseMetadata>\n    <RequestId>${escapeXml(requestId)}</RequestId>\n  </ResponseMetadata>\n` +
    `</SendBounceResponse>\n`
  );
}

export function serializeErrorResponse(error: SesError, requestId: string): string {
  return (
    `<ErrorResponse xmlns="${SES_XML_NAMESPACE}">\n` +
    `  <Error>\n    <Type>${error.type}</Type>\n    <Code>${error.code}</Code>\n` +
    `    <Message>${escapeXml(error.message)}</Message>\n  </Error>\n` +
    `  <RequestId>${escapeXml(requestId)}</RequestId>\n` +
    `</ErrorResponse>\n`
  );
}

const XML_ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

/** Escapes markup and replaces what XML 1.0 §2.2 forbids (most C0 controls, lone surrogates) with U+FFFD. */
export function escapeXml(value: string): string {
  return value
    .replace(/[&<>"']/g, (c) => XML_ENTITIES[c]!)
    .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');
}
