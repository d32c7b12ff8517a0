import { SendBounceCommand, type SESClient, type SendBounceCommandInput } from '@aws-sdk/client-ses';
import type { SendBounceInput } from '../core/dsn.js';

/**
 * What became of one SendBounce call. The distinction that matters is whether SES may have
 * acted on the request: only `retryable` outcomes are certain it did not.
 */
export type SendOutcome =
  | { readonly kind: 'sent'; readonly bounceMessageId: string }
  /** SES refused the request for good (MessageRejected, validation): retrying cannot help. */
  | { readonly kind: 'rejected'; readonly error: string }
  /** Throttling, a 5xx answer, or a failure before the request left: safe to send again. */
  | { readonly kind: 'retryable'; readonly error: string; readonly throttled: boolean }
  /** The request may have reached SES but no answer came: never sent again (at most once). */
  | { readonly kind: 'unknown'; readonly error: string };

export interface BounceSender {
  send(input: SendBounceInput): Promise<SendOutcome>;
}

// Connection never established, so the request cannot have reached SES.
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'CredentialsProviderError']);
const THROTTLING_NAMES = new Set(['Throttling', 'ThrottlingException', 'TooManyRequestsException', 'RequestThrottled']);

/**
 * SendBounce through the SDK. The client must be built with `maxAttempts: 1` (see
 * `createSesClientConfig`): the SDK's standard strategy would retry a connection reset after
 * the request went out, which could send a bounce twice. Retries are the caller's, on `retryable` only.
 */
export class SesBounceSender implements BounceSender {
  constructor(private readonly client: SESClient) {}

  async send(input: SendBounceInput): Promise<SendOutcome> {
    try {
      const output = await this.client.send(new SendBounceCommand(toSdkInput(input)));
      return { kind: 'sent', bounceMessageId: output.MessageId ?? '' };
    } catch (error) {
      return classifySendError(error);
    }
  }
}

export function classifySendError(error: unknown): SendOutcome {
  const e = error as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number }; $fault?: string };
  const description = `${e.name ?? 'Error'}: ${e.message ?? String(error)}`;
  const status = e.$metadata?.httpStatusCode;
  if (THROTTLING_NAMES.has(e.name ?? '') || status === 429) return { kind: 'retryable', error: description, throttled: true };
  if (status !== undefined && status >= 500) return { kind: 'retryable', error: description, throttled: false };
  if (status !== undefined) return { kind: 'rejected', error: description };
  if (NOT_SENT_CODES.has(e.code ?? '') || NOT_SENT_CODES.has(e.name ?? '')) return { kind: 'retryable', error: description, throttled: false };
  // ECONNRESET, socket hang up, timeouts, anything unexpected: the request may have gone out.
  return { kind: 'unknown', error: description };
}

/** SDK client settings for SendBounce: no SDK retries (classified above instead), bounded timeouts. */
export const SES_CLIENT_CONFIG = { maxAttempts: 1 } as const;

export function toSdkInput(input: SendBounceInput): SendBounceCommandInput {
  return {
    ...input,
    MessageDsn: { ...input.MessageDsn, ExtensionFields: input.MessageDsn.ExtensionFields?.map((field) => ({ ...field })), ArrivalDate: new Date(input.MessageDsn.ArrivalDate) },
    BouncedRecipientInfoList: input.BouncedRecipientInfoList.map((recipient) => ({
      ...recipient,
      RecipientDsnFields: {
        ...recipient.RecipientDsnFields,
        ExtensionFields: recipient.RecipientDsnFields.ExtensionFields?.map((field) => ({ ...field })),
        LastAttemptDate: new Date(recipient.RecipientDsnFields.LastAttemptDate),
      },
    })),
  };
}
