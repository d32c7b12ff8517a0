import * as z from 'zod/mini';
import { MAX_BOUNCED_RECIPIENTS_PER_CALL, type SendBounceInput } from './dsn.js';
import { IsoTimestamp } from './timestamp.js';

/**
 * What the receipt function queues for the delivery function: one SendBounce, ready to send,
 * and the id that fences this job's ledger records. The queue is an edge, so the delivery
 * function validates the job again. The ledger key of each bounced recipient is its
 * `Recipient` field, already in canonical form (core/recipient.ts): one list, no parallel arrays.
 * docs/delivery.md describes the life of a job.
 */

const Text = z.string().check(z.minLength(1));
const ExtensionFields = z.optional(z.array(z.object({ Name: Text, Value: z.string() })));

const BouncedRecipientInfo = z.object({
  Recipient: Text,
  RecipientArn: z.optional(Text),
  BounceType: Text,
  RecipientDsnFields: z.object({
    FinalRecipient: Text,
    Action: z.literal('failed'),
    RemoteMta: Text,
    Status: Text,
    DiagnosticCode: Text,
    LastAttemptDate: IsoTimestamp,
    ExtensionFields,
  }),
});

const SendBounce = z.object({
  OriginalMessageId: Text,
  BounceSender: Text,
  BounceSenderArn: z.optional(Text),
  Explanation: z.string(),
  MessageDsn: z.object({ ReportingMta: Text, ArrivalDate: IsoTimestamp, ExtensionFields }),
  BouncedRecipientInfoList: z
    .array(BouncedRecipientInfo)
    .check(
      z.minLength(1),
      z.refine((list) => new Set(list.map((info) => info.Recipient)).size === list.length, { message: 'a recipient is listed twice' }),
    ),
});

/** How an attempt ended, when the ledger could not take it at the time (see {@link AttemptNote}). */
export const NotedOutcome = { NotSent: 'not-sent', Sent: 'sent', Rejected: 'rejected', Unknown: 'unknown' } as const;
export type NotedOutcome = (typeof NotedOutcome)[keyof typeof NotedOutcome];

/**
 * The outcome of one delivery attempt that the ledger could not record when it happened
 * (DynamoDB failing): the job is queued again carrying the note, and the next delivery records
 * it before anything else, so a DynamoDB fault never turns into an UNKNOWN.
 */
export const AttemptNote = z.object({
  attemptId: Text,
  recipients: z.array(Text).check(z.minLength(1)),
  outcome: z.enum([NotedOutcome.NotSent, NotedOutcome.Sent, NotedOutcome.Rejected, NotedOutcome.Unknown]),
  /** For not-sent: whether the attempt counts against the job's own retries (throttling does not). */
  counted: z.optional(z.boolean()),
  bounceMessageId: z.optional(z.string()),
  error: z.optional(z.string()),
});
export type AttemptNote = z.infer<typeof AttemptNote>;

export const JOB_VERSION = 2;

export const BounceJob = z.object({
  version: z.literal(JOB_VERSION),
  /** Unique per receipt invocation; fences this job's claims and outcomes in the ledger. */
  jobId: Text,
  messageId: Text,
  receiptTime: IsoTimestamp,
  sendBounce: z.custom<SendBounceInput>((value) => SendBounce.safeParse(value).success, { message: 'not a SendBounce input' }),
  notes: z.optional(z.array(AttemptNote)),
});
export type BounceJob = z.infer<typeof BounceJob>;

/** The ledger keys of a job: its recipients, in the order of BouncedRecipientInfoList. */
export function jobRecipients(job: Pick<BounceJob, 'sendBounce'>): string[] {
  return job.sendBounce.BouncedRecipientInfoList.map((info) => info.Recipient);
}

/** The job's recipients in groups that each fit one SendBounce call, in order. */
export function sendGroups(job: Pick<BounceJob, 'sendBounce'>): string[][] {
  const recipients = jobRecipients(job);
  const groups: string[][] = [];
  for (let start = 0; start < recipients.length; start += MAX_BOUNCED_RECIPIENTS_PER_CALL) groups.push(recipients.slice(start, start + MAX_BOUNCED_RECIPIENTS_PER_CALL));
  return groups;
}

/** The job's SendBounce narrowed to `recipients` (a subset of its own). */
export function sendBounceFor(job: Pick<BounceJob, 'sendBounce'>, recipients: readonly string[]): SendBounceInput {
  const keep = new Set(recipients);
  return { ...job.sendBounce, BouncedRecipientInfoList: job.sendBounce.BouncedRecipientInfoList.filter((info) => keep.has(info.Recipient)) };
}
