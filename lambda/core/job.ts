import * as z from 'zod/mini';
import type { SendBounceInput } from './dsn.js';

/**
 * What the receipt function queues for the delivery function: the SendBounce input plus the
 * ledger keys it claimed. Validated again when it comes off the queue (the queue is an edge).
 */
export const BounceJob = z
  .object({
    version: z.literal(1),
    messageId: z.string().check(z.minLength(1)),
    /** Ledger keys (lowercased), aligned by index with sendBounce.BouncedRecipientInfoList. */
    recipients: z.array(z.string().check(z.minLength(1))).check(z.minLength(1)),
    receiptTime: z.string().check(z.refine((value) => !Number.isNaN(Date.parse(value)), { message: 'not a timestamp' })),
    claimToken: z.string().check(z.minLength(1)),
    sendBounce: z.custom<SendBounceInput>(
      (value) =>
        typeof value === 'object' &&
        value !== null &&
        typeof (value as SendBounceInput).OriginalMessageId === 'string' &&
        Array.isArray((value as SendBounceInput).BouncedRecipientInfoList),
      { message: 'not a SendBounce input' },
    ),
  })
  .check(
    z.refine((job) => job.recipients.length === job.sendBounce.BouncedRecipientInfoList.length, {
      message: 'recipients must align with BouncedRecipientInfoList',
    }),
  );
export type BounceJob = z.infer<typeof BounceJob>;
