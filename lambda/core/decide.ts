import { parseAddress, type ParsedAddress } from './address.js';
import { canonicalRecipient } from './recipient.js';
import { buildSendBounce, type BouncedRecipient, type SendBounceInput } from './dsn.js';
import type { SesRecord } from './event.js';
import { alwaysOnGuard, configuredGuard, GuardName, recipientGuard } from './guards.js';
import { viewMessage, type MessageView } from './message.js';
import type { Action, BounceType } from './policy-schema.js';
import type { CompiledPolicy, CompiledRule } from './policy-compiler.js';
import { SES_REFUSAL } from './ses-recipients.js';

export { Disposition, STOP_DISPOSITIONS, type StopDisposition } from './disposition.js';
import { Disposition } from './disposition.js';

/** What happens to one envelope recipient: a policy rule's action, or `refuse` (outside `accept`, SES answers 550 5.1.1 at RCPT TO). */
export type RecipientAction = Action | 'refuse';

/** What happens to one envelope recipient: an element of `decide`'s `recipients` (README "CLI", a contract). */
export interface RecipientDecision {
  readonly address: string;
  readonly action: RecipientAction;
  /** The rule that matched, or null when the policy default applied or the recipient was refused. */
  readonly rule: string | null;
  /** The first guard that turned a bounce into onGuard. */
  readonly guard?: GuardName;
  readonly bounceType?: BounceType;
  readonly status?: string;
}

export interface Decision {
  readonly messageId: string;
  readonly disposition: Disposition;
  readonly recipients: readonly RecipientDecision[];
  readonly sendBounce: SendBounceInput | null;
  readonly dryRun?: true;
}

/** A decision with the message view the receipt use-case needs besides it (the sender quota, the job). */
export interface DecisionPlan {
  readonly decision: Decision;
  readonly message: MessageView;
}

/** The pure heart of ses-bouncer: (record, policy, now) → decision. */
export function decide(record: SesRecord, policy: CompiledPolicy, now: Date): Decision {
  return planDecision(record, policy, now).decision;
}

export function planDecision(record: SesRecord, policy: CompiledPolicy, now: Date): DecisionPlan {
  const message = viewMessage(record);
  const matchRule = ruleMatcher(policy, message);
  // The message's guards are looked at once, and only if something would bounce; in the guard
  // order, the always-on ones come before the recipient's own, the configured ones after.
  let always: GuardName | undefined | null = null;
  let configured: GuardName | undefined | null = null;
  const guardFor = (address: string): GuardName | undefined => {
    if (always === null) always = alwaysOnGuard(message, now);
    if (always !== undefined) return always;
    const own = recipientGuard(address);
    if (own !== undefined) return own;
    if (configured === null) configured = configuredGuard(message, policy.guards);
    return configured;
  };
  const bounced: BouncedRecipient[] = [];
  // Only the envelope recipients this receipt rule matched: header To/Cc are never decided
  // (docs/policy.md "Guards"). Each in its canonical form, once however many spellings came.
  const addresses = [...new Set(record.ses.receipt.recipients.map(canonicalRecipient))];
  const recipients = addresses.map((address): RecipientDecision => {
    const parsed = parseAddress(address);
    // Outside `accept`, SES itself refuses the address at RCPT TO: the rules never see it.
    if (policy.accept !== undefined && !policy.accept.accepts(parsed)) return { address, action: 'refuse', rule: null, status: SES_REFUSAL.status };
    const rule = matchRule(parsed);
    if (rule === undefined) return { address, action: policy.default, rule: null };
    if (rule.then !== 'bounce') return { address, action: rule.then, rule: rule.name };
    const guard = guardFor(address);
    if (guard !== undefined) return { address, action: policy.guards.onGuard, rule: rule.name, guard };
    bounced.push({ address, rule });
    return { address, action: 'bounce', rule: rule.name, bounceType: rule.bounce!.bounceType, status: rule.bounce!.status };
  });
  return { decision: assemble(message, policy, recipients, buildSendBounce(message, bounced, policy, now)), message };
}

/** First match wins; each rule's message-only part is evaluated at most once per message. */
function ruleMatcher(policy: CompiledPolicy, message: MessageView): (address: ParsedAddress | undefined) => CompiledRule | undefined {
  const messageMatches: (boolean | undefined)[] = [];
  const holdsForMessage = (rule: CompiledRule): boolean =>
    rule.messageTest === undefined || (messageMatches[rule.index] ??= rule.messageTest(message));
  return (parsed) =>
    policy.rules.find((rule) => (rule.recipientTest === undefined || rule.recipientTest(message, parsed)) && holdsForMessage(rule));
}

/**
 * The sender-rate guard (last in the guard order, docs/policy.md "Guards"): the sender is over its hourly budget, so
 * every bounce of this decision becomes onGuard.
 */
export function guardSenderRate(plan: DecisionPlan, policy: CompiledPolicy): DecisionPlan {
  const recipients = plan.decision.recipients.map((recipient): RecipientDecision => {
    if (recipient.action !== 'bounce') return recipient;
    return { address: recipient.address, action: policy.guards.onGuard, rule: recipient.rule, guard: GuardName.SenderRate };
  });
  return { decision: assemble(plan.message, policy, recipients, null), message: plan.message };
}

function assemble(
  message: MessageView,
  policy: CompiledPolicy,
  recipients: readonly RecipientDecision[],
  sendBounce: SendBounceInput | null,
): Decision {
  const dryRun = policy.mode === 'dry-run';
  // STOP_RULE_SET only when nothing is delivered (a refused recipient is not); dry-run never changes what SES does.
  const delivered = recipients.some((recipient) => recipient.action === 'deliver');
  return {
    messageId: message.messageId,
    disposition: dryRun || delivered ? Disposition.Continue : Disposition.StopRuleSet,
    recipients,
    sendBounce,
    ...(dryRun ? { dryRun: true as const } : {}),
  };
}
