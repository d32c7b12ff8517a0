import { BOUNCE_DEFAULTS } from './bounce-types.js';
import type { MessageView } from './message.js';
import type { BounceType } from './policy-schema.js';
import type { CompiledPolicy, CompiledRule } from './policy-compiler.js';
import type { ExtensionField, SesBouncedRecipientInfo, SesSendBounce } from './send-bounce.js';
import { cleanText, cleanToken } from './text.js';

/**
 * The SendBounce the core builds: the SES model (send-bounce.ts) with every field ses-bouncer
 * always sends made required, `Action` always `failed` (README "Bounce rules").
 */
export interface SendBounceInput extends SesSendBounce {
  readonly OriginalMessageId: string;
  readonly BounceSender: string;
  readonly BounceSenderArn?: string;
  readonly Explanation: string;
  readonly MessageDsn: {
    readonly ReportingMta: string;
    readonly ArrivalDate: string;
    readonly ExtensionFields?: readonly ExtensionField[];
  };
  readonly BouncedRecipientInfoList: readonly BouncedRecipientInfo[];
}

export interface BouncedRecipientInfo extends SesBouncedRecipientInfo {
  readonly Recipient: string;
  readonly RecipientArn?: string;
  readonly BounceType: BounceType;
  readonly RecipientDsnFields: {
    readonly FinalRecipient: string;
    readonly Action: 'failed';
    readonly RemoteMta: string;
    readonly Status: string;
    readonly DiagnosticCode: string;
    readonly LastAttemptDate: string;
    readonly ExtensionFields?: readonly ExtensionField[];
  };
}

/** A recipient the policy bounces, with the rule that decided it. */
export interface BouncedRecipient {
  /** Canonical (core/recipient.ts). */
  readonly address: string;
  readonly rule: CompiledRule;
}

/**
 * Recipients in one SendBounce call. SES's API reference sets no maximum for
 * BouncedRecipientInfoList; its sending APIs take at most 50 recipients a message (SES
 * Developer Guide, quotas), and a bounce is a message SES sends: a longer list is split into
 * calls of 50, each recipient still bounced once.
 */
export const MAX_BOUNCED_RECIPIENTS_PER_CALL = 50;

// Bounds: RFC 5321 §4.5.3.1 (256-octet path, 320 with slack), SES message ids well under 256,
// and DSN text short enough for one RFC 5322 line (998 octets) with its field name.
export const MAX_ADDRESS = 320;
const MAX_MESSAGE_ID = 256;
const MAX_EXPLANATION = 2000;

/**
 * One SendBounce for a message and decision, listing every bounced recipient once (docs/policy.md "Bounce rules").
 * null when nothing is bounced. Every field is free of control characters, whatever the event held.
 */
export function buildSendBounce(
  message: MessageView,
  bounced: readonly BouncedRecipient[],
  policy: CompiledPolicy,
  now: Date,
): SendBounceInput | null {
  const unique = uniqueByAddress(bounced);
  if (unique.length === 0) return null;
  const mta = `dns; ${policy.bounce.reportingMta}`;
  const lastAttempt = now.toISOString();
  const recipients = unique.map(({ address, rule }): BouncedRecipientInfo => {
    const spec = rule.bounce!;
    // Already canonical (core/recipient.ts): no control characters, A-label domain.
    const finalRecipient = address;
    return {
      Recipient: finalRecipient,
      ...(spec.recipientArn ? { RecipientArn: spec.recipientArn } : {}),
      BounceType: spec.bounceType,
      RecipientDsnFields: {
        // SES prefixes "rfc822;" itself.
        FinalRecipient: finalRecipient,
        // Nothing is retried: a 4.x.x status only tells the sender the cause was transient.
        Action: 'failed',
        RemoteMta: mta,
        Status: spec.status,
        // RFC 3464 §2.3.6: diagnostic-type "smtp", then the SMTP reply.
        DiagnosticCode: `smtp; ${spec.smtpCode} ${spec.status} ${spec.diagnostic}`,
        LastAttemptDate: lastAttempt,
        ...(spec.extensionFields.length > 0 ? { ExtensionFields: spec.extensionFields } : {}),
      },
    };
  });
  return {
    OriginalMessageId: cleanToken(message.messageId, MAX_MESSAGE_ID),
    BounceSender: policy.bounce.sender,
    ...(policy.bounce.senderArn ? { BounceSenderArn: policy.bounce.senderArn } : {}),
    Explanation: explanation(unique.map((entry) => entry.rule)),
    MessageDsn: {
      ReportingMta: mta,
      ArrivalDate: message.arrivalTime.toISOString(),
      ...(policy.bounce.extensionFields.length > 0 ? { ExtensionFields: policy.bounce.extensionFields } : {}),
    },
    BouncedRecipientInfoList: recipients,
  };
}

/** The rules' explanations, distinct, in rule order; generated from the bounce types when no rule gives one. */
function explanation(rules: readonly CompiledRule[]): string {
  const ordered = [...new Set(rules)].sort((a, b) => a.index - b.index);
  const given = distinct(ordered.flatMap((rule) => (rule.bounce?.explanation ? [rule.bounce.explanation] : [])));
  const sentences =
    given.length > 0 ? given : distinct(ordered.map((rule) => BOUNCE_DEFAULTS[rule.bounce!.bounceType].explanation));
  return cleanText(sentences.join(' '), MAX_EXPLANATION);
}

function distinct(values: readonly string[]): string[] {
  return [...new Set(values)];
}

function uniqueByAddress(bounced: readonly BouncedRecipient[]): BouncedRecipient[] {
  const seen = new Set<string>();
  return bounced.filter(({ address }) => {
    if (seen.has(address)) return false;
    seen.add(address);
    return true;
  });
}
