/** SES SendBounce's BounceType values. */
export const BounceType = {
  DoesNotExist: 'DoesNotExist',
  MessageTooLarge: 'MessageTooLarge',
  ExceededQuota: 'ExceededQuota',
  ContentRejected: 'ContentRejected',
  TemporaryFailure: 'TemporaryFailure',
  Undefined: 'Undefined',
} as const;
export type BounceType = (typeof BounceType)[keyof typeof BounceType];

export interface BounceDefaults {
  readonly smtpCode: number;
  /** RFC 3463 enhanced status code. */
  readonly status: string;
  readonly diagnostic: string;
  /** One sentence for the human-readable part when no rule gives an explanation. */
  readonly explanation: string;
}

// RFC 3463 §3: X.1.1 bad destination mailbox, X.3.4 message too big for system, X.2.2 mailbox
// full, X.7.1 delivery not authorized / message refused, 4.0.0 and 5.0.0 other undefined status.
export const BOUNCE_DEFAULTS: Readonly<Record<BounceType, BounceDefaults>> = {
  DoesNotExist: {
    smtpCode: 550,
    status: '5.1.1',
    diagnostic: 'Recipient address rejected: mailbox does not exist',
    explanation: 'The mailbox you wrote to does not exist.',
  },
  MessageTooLarge: {
    smtpCode: 552,
    status: '5.3.4',
    diagnostic: 'Message size exceeds the limit for this recipient',
    explanation: 'Your message is larger than the recipient accepts.',
  },
  ExceededQuota: {
    smtpCode: 552,
    status: '5.2.2',
    diagnostic: 'Mailbox full',
    explanation: "The recipient's mailbox is full.",
  },
  ContentRejected: {
    smtpCode: 550,
    status: '5.7.1',
    diagnostic: 'Message rejected by policy',
    explanation: "Your message was refused by the recipient domain's policy.",
  },
  TemporaryFailure: {
    smtpCode: 450,
    status: '4.0.0',
    diagnostic: 'Temporary failure, message not delivered',
    explanation: 'Your message could not be delivered because of a temporary failure; it was not retried.',
  },
  Undefined: {
    smtpCode: 554,
    status: '5.0.0',
    diagnostic: 'Message not delivered',
    explanation: 'Your message could not be delivered.',
  },
};

export function statusClass(status: string): string {
  return status.charAt(0);
}

export function smtpClass(code: number): string {
  return String(code).charAt(0);
}

// SES accepts DSN extension field names of 1 to 50 letters, digits and dashes, and none of the
// fields RFC 3464 §2.2–2.3 define itself.
export const EXTENSION_FIELD_NAME = /^[A-Za-z0-9-]{1,50}$/;
export const STANDARD_DSN_FIELDS: ReadonlySet<string> = new Set([
  'reporting-mta', 'dsn-gateway', 'received-from-mta', 'arrival-date', 'original-envelope-id', 'original-recipient',
  'final-recipient', 'action', 'status', 'remote-mta', 'diagnostic-code', 'last-attempt-date', 'final-log-id', 'will-retry-until',
]);
