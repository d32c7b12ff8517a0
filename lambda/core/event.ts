import * as z from 'zod/mini';
import { describeZodError } from './issues.js';
import { IsoTimestamp } from './timestamp.js';

/** SES verdict statuses (the receipt's spam, virus, SPF, DKIM and DMARC verdicts). */
export const Verdict = ['PASS', 'FAIL', 'GRAY', 'PROCESSING_FAILED', 'DISABLED'] as const;
export type Verdict = (typeof Verdict)[number];

// The SES receipt-rule Lambda event as AWS documents it ("Lambda action" in the SES developer
// guide). Unknown fields pass through (SES may add some); everything decided on is checked.

/** Envelope recipients one receipt record may carry (see SesReceipt.recipients). */
export const MAX_RECIPIENTS = 1000;

const VerdictField = z.object({ status: z.enum(Verdict) });

export const SesHeader = z.object({ name: z.string(), value: z.string() });
export type SesHeader = z.infer<typeof SesHeader>;

export const SesMail = z.object({
  timestamp: IsoTimestamp,
  source: z.string(),
  // SES's own ids are 40 characters; its API reference gives no maximum. 256 bounds a hostile
  // value well above any id SES could have issued (it is also the ledger's partition key).
  messageId: z.string().check(z.minLength(1), z.maxLength(256)),
  destination: z.optional(z.array(z.string())),
  headersTruncated: z.optional(z.boolean()),
  headers: z.optional(z.array(SesHeader)),
  commonHeaders: z.optional(
    z.object({
      returnPath: z.optional(z.string()),
      from: z.optional(z.array(z.string())),
      sender: z.optional(z.array(z.string())),
      replyTo: z.optional(z.array(z.string())),
      date: z.optional(z.string()),
      to: z.optional(z.array(z.string())),
      cc: z.optional(z.array(z.string())),
      bcc: z.optional(z.array(z.string())),
      messageId: z.optional(z.string()),
      subject: z.optional(z.string()),
    }),
  ),
});
export type SesMail = z.infer<typeof SesMail>;

export const SesReceipt = z.object({
  timestamp: IsoTimestamp,
  processingTimeMillis: z.optional(z.number()),
  // Envelope addresses: RFC 5321 §4.5.3.1.3 caps a path at 256 octets; 320 leaves room for odd encodings.
  // At most 1,000: far above any message SES hands one rule, and small enough that the bounce
  // job of the whole list stays well inside SQS's 1 MiB message limit.
  recipients: z.array(z.string().check(z.minLength(1), z.maxLength(320))).check(z.minLength(1), z.maxLength(MAX_RECIPIENTS)),
  spamVerdict: z.optional(VerdictField),
  virusVerdict: z.optional(VerdictField),
  spfVerdict: z.optional(VerdictField),
  dkimVerdict: z.optional(VerdictField),
  dmarcVerdict: z.optional(VerdictField),
  dmarcPolicy: z.optional(z.string()),
  action: z.optional(
    z.object({
      type: z.literal('Lambda'),
      functionArn: z.optional(z.string()),
      invocationType: z.enum(['RequestResponse', 'Event']),
    }),
  ),
});
export type SesReceipt = z.infer<typeof SesReceipt>;

export const SesRecord = z.object({
  eventSource: z.optional(z.literal('aws:ses')),
  eventVersion: z.optional(z.string()),
  ses: z.object({ mail: SesMail, receipt: SesReceipt }),
});
export type SesRecord = z.infer<typeof SesRecord>;

const SesEventShape = z.object({ Records: z.array(z.unknown()).check(z.minLength(1)) });

/** One record of an event: the parsed record, or why it is not a valid SES record. */
export type RecordResult = { readonly ok: true; readonly record: SesRecord } | { readonly ok: false; readonly error: string };

/**
 * Splits an SES Lambda event into records, each validated on its own so one bad record does
 * not hide the others. A payload without a Records array is a single error.
 */
export function parseSesEvent(payload: unknown): RecordResult[] {
  const shape = SesEventShape.safeParse(payload, { reportInput: true });
  if (!shape.success) return [{ ok: false, error: `not an SES event: ${describeZodError(shape.error)}` }];
  return shape.data.Records.map((raw, index) => {
    const parsed = SesRecord.safeParse(raw, { reportInput: true });
    return parsed.success
      ? { ok: true, record: parsed.data }
      : { ok: false, error: `invalid SES record: ${describeZodError(parsed.error, ['Records', index])}` };
  });
}
