import { z } from 'zod';
import { Verdict } from './policy-schema.js';

// The SES receipt-rule Lambda event as AWS documents it ("Lambda action" in the SES developer
// guide). Unknown fields pass through (SES may add some); everything decided on is checked.

const IsoTimestamp = z.string().refine((value) => !Number.isNaN(Date.parse(value)), { message: 'not a timestamp' });
const VerdictField = z.object({ status: z.enum(Verdict) });

export const SesHeader = z.object({ name: z.string(), value: z.string() });
export type SesHeader = z.infer<typeof SesHeader>;

export const SesMail = z.object({
  timestamp: IsoTimestamp,
  source: z.string(),
  messageId: z.string().min(1).max(256),
  destination: z.array(z.string()).optional(),
  headersTruncated: z.boolean().optional(),
  headers: z.array(SesHeader).optional(),
  commonHeaders: z
    .object({
      returnPath: z.string().optional(),
      from: z.array(z.string()).optional(),
      sender: z.array(z.string()).optional(),
      replyTo: z.array(z.string()).optional(),
      date: z.string().optional(),
      to: z.array(z.string()).optional(),
      cc: z.array(z.string()).optional(),
      bcc: z.array(z.string()).optional(),
      messageId: z.string().optional(),
      subject: z.string().optional(),
    })
    .optional(),
});
export type SesMail = z.infer<typeof SesMail>;

export const SesReceipt = z.object({
  timestamp: IsoTimestamp,
  processingTimeMillis: z.number().optional(),
  // Envelope addresses: RFC 5321 §4.5.3.1.3 caps a path at 256 octets; 320 leaves room for odd encodings.
  recipients: z.array(z.string().min(1).max(320)).min(1),
  spamVerdict: VerdictField.optional(),
  virusVerdict: VerdictField.optional(),
  spfVerdict: VerdictField.optional(),
  dkimVerdict: VerdictField.optional(),
  dmarcVerdict: VerdictField.optional(),
  dmarcPolicy: z.string().optional(),
  action: z
    .object({
      type: z.literal('Lambda'),
      functionArn: z.string().optional(),
      invocationType: z.enum(['RequestResponse', 'Event']),
    })
    .optional(),
});
export type SesReceipt = z.infer<typeof SesReceipt>;

export const SesRecord = z.object({
  eventSource: z.literal('aws:ses').optional(),
  eventVersion: z.string().optional(),
  ses: z.object({ mail: SesMail, receipt: SesReceipt }),
});
export type SesRecord = z.infer<typeof SesRecord>;

const SesEventShape = z.object({ Records: z.array(z.unknown()).min(1) });

/** One record of an event: the parsed record, or why it is not a valid SES record. */
export type RecordResult = { readonly ok: true; readonly record: SesRecord } | { readonly ok: false; readonly error: string };

/**
 * Splits an SES Lambda event into records, each validated on its own so one bad record does
 * not hide the others. A payload without a Records array is a single error.
 */
export function parseSesEvent(payload: unknown): RecordResult[] {
  const shape = SesEventShape.safeParse(payload);
  if (!shape.success) return [{ ok: false, error: `not an SES event: ${describeZodError(shape.error)}` }];
  return shape.data.Records.map((raw, index) => {
    const parsed = SesRecord.safeParse(raw);
    return parsed.success
      ? { ok: true, record: parsed.data }
      : { ok: false, error: `invalid SES record: ${describeZodError(parsed.error, ['Records', index])}` };
  });
}

/** `Records[0].ses.mail.messageId: expected string, got undefined` (every issue, joined). */
export function describeZodError(error: z.ZodError, prefix: readonly PropertyKey[] = []): string {
  return error.issues.map((issue) => `${formatPath([...prefix, ...issue.path])}: ${issue.message}`).join('; ');
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}
