// The SES v1 (2010-12-01) awsQuery wire protocol for SendBounce: the form-encoded request the
// AWS SDKs and the AWS CLI send, SES's validation of it, and SES's XML answers.
import { randomUUID } from 'node:crypto';
import { BounceType, EXTENSION_FIELD_NAME, STANDARD_DSN_FIELDS } from '../lambda/core/bounce-types.js';

export const SES_API_VERSION = '2010-12-01';
const SES_XML_NAMESPACE = `http://ses.amazonaws.com/doc/${SES_API_VERSION}/`;

export { BounceType } from '../lambda/core/bounce-types.js';

/** The RFC 3464 §2.3.3 action values SES accepts. */
export const DsnAction = {
  Failed: 'failed',
  Delayed: 'delayed',
  Delivered: 'delivered',
  Relayed: 'relayed',
  Expanded: 'expanded',
} as const;
export type DsnAction = (typeof DsnAction)[keyof typeof DsnAction];

export interface ExtensionField {
  readonly Name: string;
  readonly Value: string;
}

export interface RecipientDsnFields {
  readonly FinalRecipient?: string;
  readonly Action: DsnAction;
  readonly RemoteMta?: string;
  readonly Status: string;
  readonly DiagnosticCode?: string;
  readonly LastAttemptDate?: Date;
  readonly ExtensionFields?: readonly ExtensionField[];
}

export interface BouncedRecipientInfo {
  readonly Recipient: string;
  readonly RecipientArn?: string;
  readonly BounceType?: BounceType;
  readonly RecipientDsnFields?: RecipientDsnFields;
}

export interface MessageDsn {
  readonly ReportingMta: string;
  readonly ArrivalDate?: Date;
  readonly ExtensionFields?: readonly ExtensionField[];
}

/** A validated SendBounce request; member names and shapes are those of the SDK's SendBounceCommandInput. */
export interface SendBounceRequest {
  readonly OriginalMessageId: string;
  readonly BounceSender: string;
  readonly Explanation?: string;
  readonly MessageDsn?: MessageDsn;
  readonly BouncedRecipientInfoList: readonly BouncedRecipientInfo[];
  readonly BounceSenderArn?: string;
}

/** The error codes this endpoint answers with, as SES spells them. */
export const SesErrorCode = {
  InvalidAction: 'InvalidAction',
  MissingAction: 'MissingAction',
  MissingAuthenticationToken: 'MissingAuthenticationToken',
  ValidationError: 'ValidationError',
  InvalidParameterValue: 'InvalidParameterValue',
  MessageRejected: 'MessageRejected',
  Throttling: 'Throttling',
  InternalFailure: 'InternalFailure',
  RequestEntityTooLarge: 'RequestEntityTooLarge',
} as const;
export type SesErrorCode = (typeof SesErrorCode)[keyof typeof SesErrorCode];

/** HTTP status per code, from the AWS "Common Errors" reference (SES answers Throttling with 400, not 429). */
const HTTP_STATUS: Readonly<Record<SesErrorCode, number>> = {
  InvalidAction: 400,
  MissingAction: 400,
  MissingAuthenticationToken: 403,
  ValidationError: 400,
  InvalidParameterValue: 400,
  MessageRejected: 400,
  Throttling: 400,
  InternalFailure: 500,
  RequestEntityTooLarge: 413,
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
 * Bounds on field sizes. SES documents only the extension-field ones; the others keep every
 * rendered header line within RFC 5322 §2.1.1's 998 characters and the report a sane size.
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

// RFC 3463 §2: class "." subject "." detail, with 1–3 digit subject and detail.
const DSN_STATUS = /^[245]\.\d{1,3}\.\d{1,3}$/;
// RFC 3464 §2.2.2/§2.3.6: `mta-name-type ; mta-name` and `diagnostic-type ; *text`.
const TYPED_VALUE = /^[A-Za-z0-9-]+;\s*\S/;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;
const CONTROL = /\p{Cc}/u;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
// RFC 5322 §3.2.3 atext plus the dots of a dot-atom; quoted local parts are not accepted.
const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$/;
// Non-ASCII (IDN) domains must arrive as A-labels: SES v1 does not speak SMTPUTF8 (RFC 6531).
const DOMAIN = /^(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export interface Mailbox {
  readonly displayName?: string;
  readonly address: string;
}

/** `addr@domain` or `Display Name <addr@domain>` (display name optionally quoted); undefined when neither. */
export function parseMailbox(value: string): Mailbox | undefined {
  const named = /^(.*?)\s*<([^<>]*)>$/s.exec(value);
  const address = named ? named[2]! : value;
  if (!isAddress(address)) return undefined;
  const rawName = named?.[1]?.trim() ?? '';
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

/**
 * Reads and validates a SendBounce request from its awsQuery parameters. Shape violations
 * (a required member missing, a value outside an enum) are reported all at once as SES's
 * model layer does (`ValidationError`, "N validation errors detected: …"); semantic ones
 * (malformed address, status, date, length, control characters) as `InvalidParameterValue`.
 */
export function parseSendBounce(params: URLSearchParams): SendBounceParse {
  const reader = new ParamReader(params);
  const request = readRequest(reader);
  if (reader.shapeErrors.length > 0) {
    const count = reader.shapeErrors.length;
    const noun = count === 1 ? 'validation error' : 'validation errors';
    return { ok: false, error: sesError(SesErrorCode.ValidationError, `${count} ${noun} detected: ${reader.shapeErrors.join('; ')}`) };
  }
  const invalid = reader.valueErrors[0];
  if (invalid !== undefined) return { ok: false, error: sesError(SesErrorCode.InvalidParameterValue, invalid) };
  return { ok: true, request };
}

/** Collects problems while reading, so that one pass reports every shape error. */
class ParamReader {
  readonly shapeErrors: string[] = [];
  readonly valueErrors: string[] = [];
  constructor(private readonly params: URLSearchParams) {}

  /** A scalar; the empty string counts as absent, as an empty required value is no value. */
  optional(key: string): string | undefined {
    const value = this.params.get(key);
    return value === null || value === '' ? undefined : value;
  }

  required(key: string, path: string): string {
    const value = this.optional(key);
    if (value === undefined) this.shapeErrors.push(`Value null at '${path}' failed to satisfy constraint: Member must not be null`);
    return value ?? '';
  }

  has(prefix: string): boolean {
    for (const key of this.params.keys()) if (key === prefix || key.startsWith(`${prefix}.`)) return true;
    return false;
  }

  /** The member numbers of `prefix.member.N.*`, ascending; awsQuery numbers list members from 1. */
  members(prefix: string): number[] {
    const pattern = new RegExp(`^${prefix.replace(/\./g, '\\.')}\\.member\\.(\\d+)(\\.|$)`);
    const indexes = new Set<number>();
    for (const key of this.params.keys()) {
      const match = pattern.exec(key);
      if (match) indexes.add(Number(match[1]));
    }
    return [...indexes].sort((a, b) => a - b);
  }

  enumValue<T extends string>(key: string, path: string, values: readonly T[], required: boolean): T | undefined {
    const value = required ? this.required(key, path) : this.optional(key);
    if (value === undefined || value === '') return undefined;
    if ((values as readonly string[]).includes(value)) return value as T;
    this.shapeErrors.push(
      `Value '${value}' at '${path}' failed to satisfy constraint: Member must satisfy enum value set: [${values.join(', ')}]`,
    );
    return undefined;
  }

  invalid(message: string): void {
    this.valueErrors.push(message);
  }
}

function readRequest(r: ParamReader): SendBounceRequest {
  const OriginalMessageId = r.required('OriginalMessageId', 'originalMessageId');
  checkText(r, 'OriginalMessageId', OriginalMessageId, SendBounceLimits.messageIdLength, true);
  const BounceSender = r.required('BounceSender', 'bounceSender');
  if (BounceSender) checkMailbox(r, 'BounceSender', BounceSender);
  const Explanation = r.optional('Explanation');
  if (Explanation !== undefined) checkText(r, 'Explanation', Explanation, SendBounceLimits.explanationLength, false);
  const BounceSenderArn = r.optional('BounceSenderArn');
  if (BounceSenderArn !== undefined) checkText(r, 'BounceSenderArn', BounceSenderArn, SendBounceLimits.arnLength, true);
  const MessageDsn = r.has('MessageDsn') ? readMessageDsn(r) : undefined;
  const BouncedRecipientInfoList = readRecipients(r);
  return omitUndefined({ OriginalMessageId, BounceSender, Explanation, MessageDsn, BouncedRecipientInfoList, BounceSenderArn });
}

function readMessageDsn(r: ParamReader): MessageDsn {
  const ReportingMta = r.required('MessageDsn.ReportingMta', 'messageDsn.reportingMta');
  if (ReportingMta) checkTyped(r, 'MessageDsn.ReportingMta', ReportingMta, SendBounceLimits.mtaLength);
  const ArrivalDate = readDate(r, 'MessageDsn.ArrivalDate');
  const ExtensionFields = readExtensionFields(r, 'MessageDsn.ExtensionFields', 'messageDsn.extensionFields');
  return omitUndefined({ ReportingMta, ArrivalDate, ExtensionFields });
}

function readRecipients(r: ParamReader): BouncedRecipientInfo[] {
  const prefix = 'BouncedRecipientInfoList';
  const indexes = r.members(prefix);
  if (!r.has(prefix)) {
    r.required(prefix, 'bouncedRecipientInfoList');
    return [];
  }
  if (indexes.length === 0) r.invalid('BouncedRecipientInfoList must contain at least one BouncedRecipientInfo.');
  if (indexes.length > SendBounceLimits.recipients) {
    r.invalid(`BouncedRecipientInfoList has ${indexes.length} members; at most ${SendBounceLimits.recipients} are allowed.`);
  }
  return indexes.map((n) => readRecipient(r, `${prefix}.member.${n}`, `bouncedRecipientInfoList.${n}.member`));
}

function readRecipient(r: ParamReader, key: string, path: string): BouncedRecipientInfo {
  const Recipient = r.required(`${key}.Recipient`, `${path}.recipient`);
  if (Recipient) checkAddress(r, `${key}.Recipient`, Recipient);
  const RecipientArn = r.optional(`${key}.RecipientArn`);
  if (RecipientArn !== undefined) checkText(r, `${key}.RecipientArn`, RecipientArn, SendBounceLimits.arnLength, true);
  const bounceType = r.enumValue(`${key}.BounceType`, `${path}.bounceType`, Object.values(BounceType), false);
  const hasDsnFields = r.has(`${key}.RecipientDsnFields`);
  if (r.optional(`${key}.BounceType`) === undefined && !hasDsnFields) {
    r.invalid(`${key}: either BounceType or RecipientDsnFields must be given.`);
  }
  const RecipientDsnFields = hasDsnFields ? readDsnFields(r, `${key}.RecipientDsnFields`, `${path}.recipientDsnFields`) : undefined;
  return omitUndefined({ Recipient, RecipientArn, BounceType: bounceType, RecipientDsnFields });
}

function readDsnFields(r: ParamReader, key: string, path: string): RecipientDsnFields {
  const FinalRecipient = r.optional(`${key}.FinalRecipient`);
  if (FinalRecipient !== undefined) {
    // SES writes `Final-Recipient: rfc822; <FinalRecipient>` itself; a prefix here would be doubled.
    if (/^\s*rfc822\s*;/i.test(FinalRecipient)) {
      r.invalid(`${key}.FinalRecipient must be a bare address: do not prepend "rfc822;", Amazon SES adds it.`);
    } else {
      checkAddress(r, `${key}.FinalRecipient`, FinalRecipient);
    }
  }
  const Action = r.enumValue(`${key}.Action`, `${path}.action`, Object.values(DsnAction), true) ?? DsnAction.Failed;
  const Status = r.required(`${key}.Status`, `${path}.status`);
  if (Status && !DSN_STATUS.test(Status)) {
    r.invalid(`${key}.Status '${truncate(Status)}' is not an RFC 3463 status code (class.subject.detail, e.g. 5.1.1).`);
  }
  const RemoteMta = r.optional(`${key}.RemoteMta`);
  if (RemoteMta !== undefined) checkTyped(r, `${key}.RemoteMta`, RemoteMta, SendBounceLimits.mtaLength);
  const DiagnosticCode = r.optional(`${key}.DiagnosticCode`);
  if (DiagnosticCode !== undefined) checkTyped(r, `${key}.DiagnosticCode`, DiagnosticCode, SendBounceLimits.diagnosticCodeLength);
  const LastAttemptDate = readDate(r, `${key}.LastAttemptDate`);
  const ExtensionFields = readExtensionFields(r, `${key}.ExtensionFields`, `${path}.extensionFields`);
  return omitUndefined({ FinalRecipient, Action, RemoteMta, Status, DiagnosticCode, LastAttemptDate, ExtensionFields });
}

function readExtensionFields(r: ParamReader, key: string, path: string): ExtensionField[] | undefined {
  const indexes = r.members(key);
  if (indexes.length === 0) return undefined;
  if (indexes.length > SendBounceLimits.extensionFields) {
    r.invalid(`${key} has ${indexes.length} members; at most ${SendBounceLimits.extensionFields} are allowed.`);
  }
  return indexes.map((n) => {
    const Name = r.required(`${key}.member.${n}.Name`, `${path}.${n}.member.name`);
    const Value = r.required(`${key}.member.${n}.Value`, `${path}.${n}.member.value`);
    if (Name && !EXTENSION_FIELD_NAME.test(Name)) {
      r.invalid(`${key}.member.${n}.Name must be 1 to 50 characters of a-z, A-Z, 0-9 and dashes.`);
    } else if (STANDARD_DSN_FIELDS.has(Name.toLowerCase())) {
      r.invalid(`${key}.member.${n}.Name '${Name}' is a standard RFC 3464 field, not an extension field.`);
    }
    if (Value) checkText(r, `${key}.member.${n}.Value`, Value, SendBounceLimits.extensionValueLength, true);
    return { Name, Value };
  });
}

function readDate(r: ParamReader, key: string): Date | undefined {
  const value = r.optional(key);
  if (value === undefined) return undefined;
  const date = new Date(value);
  if (!ISO_8601.test(value) || Number.isNaN(date.getTime())) {
    r.invalid(`${key} '${truncate(value)}' is not an ISO 8601 timestamp.`);
    return undefined;
  }
  return date;
}

/**
 * Rejects control characters in every field: each one ends up in a header or a DSN field,
 * where CR or LF would start a new field (header injection). DSN fields must be US-ASCII
 * (RFC 3464 §2.1: they are RFC 822 header fields), so `asciiOnly` is set for those.
 */
function checkText(r: ParamReader, key: string, value: string, maxLength: number, asciiOnly: boolean): void {
  if (CONTROL.test(value)) r.invalid(`${key} must not contain control characters such as CR or LF.`);
  else if (asciiOnly && !PRINTABLE_ASCII.test(value)) r.invalid(`${key} must contain only printable US-ASCII characters.`);
  if (value.length > maxLength) r.invalid(`${key} is ${value.length} characters long; at most ${maxLength} are allowed.`);
}

function checkTyped(r: ParamReader, key: string, value: string, maxLength: number): void {
  checkText(r, key, value, maxLength, true);
  if (!TYPED_VALUE.test(value)) r.invalid(`${key} '${truncate(value)}' must have the form "type; value" (RFC 3464), e.g. "dns; mx.example.com".`);
}

function checkAddress(r: ParamReader, key: string, value: string): void {
  checkText(r, key, value, SendBounceLimits.addressLength, true);
  if (!value.includes('@')) r.invalid(`${key}: Missing final '@domain'`);
  else if (!isAddress(value)) r.invalid(`${key}: Illegal address`);
}

function checkMailbox(r: ParamReader, key: string, value: string): void {
  checkText(r, key, value, SendBounceLimits.mailboxLength, false);
  if (!value.includes('@')) r.invalid(`${key}: Missing final '@domain'`);
  else if (!parseMailbox(value)) r.invalid(`${key}: Illegal address`);
}

function truncate(value: string): string {
  return value.length > 64 ? `${value.slice(0, 64)}…` : value;
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
