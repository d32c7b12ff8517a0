import type { BounceType } from './policy-schema.js';

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
