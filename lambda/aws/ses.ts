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
// SES refused this bounce for what it is: sending it again cannot help (REJECTED). Any other
// answer with a 4xx (access denied, an expired signature, a clock skew) is a fault of the
// deployment, not of the bounce: SES did not send it, so it is retried and ends in the DLQ.
const REJECTED_NAMES = new Set(['MessageRejected', 'InvalidParameterValue', 'ValidationError', 'MissingParameter', 'InvalidParameterCombination', 'MailFromDomainNotVerifiedException']);
const CONNECT_TIMEOUT = /did not establish a connection/;

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
  if (REJECTED_NAMES.has(e.name ?? '')) return { kind: 'rejected', error: description };
  if (status !== undefined) return { kind: 'retryable', error: description, throttled: false };
  if (NOT_SENT_CODES.has(e.code ?? '') || NOT_SENT_CODES.has(e.name ?? '') || CONNECT_TIMEOUT.test(e.message ?? '')) {
    return { kind: 'retryable', error: description, throttled: false };
  }
  // ECONNRESET, socket hang up, timeouts, anything unexpected: the request may have gone out.
  return { kind: 'unknown', error: description };
}

/**
 * SDK client settings for SendBounce: no SDK retries (classified above instead), and bounded
 * waits, well inside the delivery function's time reserve: a connection not made in 3 s was
 * never used (retryable); an answer not received in 10 s may follow a sent bounce (unknown).
 */
export const SES_CLIENT_CONFIG = { maxAttempts: 1, requestHandler: { connectionTimeout: 3_000, requestTimeout: 10_000, throwOnRequestTimeout: true } } as const;

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
