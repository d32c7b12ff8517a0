import { SendBounceCommand, type SESClient, type SendBounceCommandInput } from '@aws-sdk/client-ses';
import type { SendBounceInput } from '../core/dsn.js';
import type { ExtensionField, SesSendBounce } from '../core/send-bounce.js';
import type { BounceSender, SendOutcome } from '../app/ports.js';
import { callSignal, SEND_CALL_MS } from './timeouts.js';

// The connection was never established, so the request cannot have reached SES.
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'CredentialsProviderError']);
const CONNECT_TIMEOUT = /did not establish a connection/;
// SES processed nothing: "Throttling – Maximum sending rate exceeded" (SES API common errors).
const THROTTLING_NAMES = new Set(['Throttling', 'ThrottlingException', 'TooManyRequestsException', 'RequestThrottled']);
// SES's own words for "not done, try again" on a 5xx: an answer in SES's format with one of
// these codes (SES API common errors). A 5xx without them (a gateway's 502/504 page, a body cut
// off) comes from something that may have passed the request on: a doubt.
const SES_SERVER_ERRORS = new Set(['InternalFailure', 'ServiceUnavailable']);
// SES refused this bounce for what it is: sending it again cannot help (REJECTED). Any other
// answer with a 4xx (access denied, an expired signature, a clock skew) is a fault of the
// deployment, not of the bounce: SES did not send it, so it is retried and, if it persists,
// the job ends in the dead-letter queue once its own retries are spent.
const REJECTED_NAMES = new Set(['MessageRejected', 'InvalidParameterValue', 'ValidationError', 'MissingParameter', 'InvalidParameterCombination', 'MailFromDomainNotVerifiedException']);

/**
 * SendBounce through the SDK. The client must be built with `SES_CLIENT_CONFIG` (lambda/aws/timeouts.ts):
 * no SDK retries, bounded waits. Retries are the caller's, on `retryable` outcomes only.
 */
export class SesBounceSender implements BounceSender {
  constructor(private readonly client: SESClient) {}

  async send(input: SendBounceInput): Promise<SendOutcome> {
    try {
      const output = await this.client.send(new SendBounceCommand(toSdkInput(input)), { abortSignal: callSignal(SEND_CALL_MS) });
      return { kind: 'sent', bounceMessageId: output.MessageId ?? '' };
    } catch (error) {
      return classifySendError(error);
    }
  }
}

/**
 * Whether SES may have acted on a SendBounce that threw. The SDK reports an answer it could
 * not read (a body cut off, not XML) with the answer's status in `$metadata.httpStatusCode`:
 * a 2xx there means SES accepted the bounce, whatever happened to the body after.
 */
export function classifySendError(error: unknown): SendOutcome {
  const e = error as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const description = `${e.name ?? 'Error'}: ${e.message ?? String(error)}`.slice(0, 1000);
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined && status >= 200 && status < 300) return { kind: 'sent', bounceMessageId: '' };
  if (THROTTLING_NAMES.has(e.name ?? '') || status === 429) return { kind: 'retryable', error: description, throttled: true };
  if (REJECTED_NAMES.has(e.name ?? '')) return { kind: 'rejected', error: description };
  if (status !== undefined && status >= 500 && !SES_SERVER_ERRORS.has(e.name ?? '')) return { kind: 'unknown', error: description };
  // Any other answer with a status: SES answered and said it did not do it.
  if (status !== undefined) return { kind: 'retryable', error: description, throttled: false };
  if (NOT_SENT_CODES.has(e.code ?? '') || NOT_SENT_CODES.has(e.name ?? '') || CONNECT_TIMEOUT.test(e.message ?? '')) {
    return { kind: 'retryable', error: description, throttled: false };
  }
  // ECONNRESET, socket hang up, an answer timeout, an abort, anything unexpected: the request may have gone out.
  return { kind: 'unknown', error: description };
}

/** The core's SendBounce model (ISO dates) as the SDK's input (Date objects, mutable lists). */
export function toSdkInput(input: SesSendBounce): SendBounceCommandInput {
  const fields = (list: readonly ExtensionField[] | undefined) => list?.map((field) => ({ ...field }));
  const date = (iso: string | undefined) => (iso === undefined ? undefined : new Date(iso));
  const { MessageDsn: dsn, ...rest } = input;
  return {
    ...rest,
    ...(dsn && { MessageDsn: { ...dsn, ExtensionFields: fields(dsn.ExtensionFields), ArrivalDate: date(dsn.ArrivalDate) } }),
    BouncedRecipientInfoList: input.BouncedRecipientInfoList.map(({ RecipientDsnFields: dsnFields, ...recipient }) => ({
      ...recipient,
      ...(dsnFields && { RecipientDsnFields: { ...dsnFields, ExtensionFields: fields(dsnFields.ExtensionFields), LastAttemptDate: date(dsnFields.LastAttemptDate) } }),
    })),
  };
}
