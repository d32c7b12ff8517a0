import type { BounceType } from './bounce-types.js';

// The SES SendBounce request (SES API Reference, "SendBounce"), as one JSON-safe model: dates are
// ISO 8601 strings, so a request can travel in a queue message and be compared as a value. The
// core builds a narrower form of it (dsn.ts SendBounceInput, which extends this one, so the
// compiler proves that what the core builds is a request SES takes); the local SES endpoint
// parses the wire into it; the SES adapter maps it to the SDK's input (lambda/aws/ses.ts).

/** A DSN extension field (`X-Name: value`). */
export interface ExtensionField {
  readonly Name: string;
  readonly Value: string;
}

/** The RFC 3464 §2.3.3 action values SES accepts. */
export const DsnAction = {
  Failed: 'failed',
  Delayed: 'delayed',
  Delivered: 'delivered',
  Relayed: 'relayed',
  Expanded: 'expanded',
} as const;
export type DsnAction = (typeof DsnAction)[keyof typeof DsnAction];

export interface SesRecipientDsnFields {
  readonly FinalRecipient?: string;
  readonly Action: DsnAction;
  readonly RemoteMta?: string;
  readonly Status: string;
  readonly DiagnosticCode?: string;
  /** ISO 8601. */
  readonly LastAttemptDate?: string;
  readonly ExtensionFields?: readonly ExtensionField[];
}

export interface SesBouncedRecipientInfo {
  readonly Recipient: string;
  readonly RecipientArn?: string;
  readonly BounceType?: BounceType;
  readonly RecipientDsnFields?: SesRecipientDsnFields;
}

export interface SesMessageDsn {
  readonly ReportingMta: string;
  /** ISO 8601. */
  readonly ArrivalDate?: string;
  readonly ExtensionFields?: readonly ExtensionField[];
}

/** Everything SES accepts in a SendBounce; member names are those of the API (and the SDK's input). */
export interface SesSendBounce {
  readonly OriginalMessageId: string;
  readonly BounceSender: string;
  readonly Explanation?: string;
  readonly MessageDsn?: SesMessageDsn;
  readonly BouncedRecipientInfoList: readonly SesBouncedRecipientInfo[];
  readonly BounceSenderArn?: string;
}
