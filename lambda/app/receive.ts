import { randomUUID } from 'node:crypto';
import { ledgerRecipient, type Ledger } from '../aws/ledger.js';
import type { BounceQueue } from '../aws/queue.js';
import { guardSenderRate, planDecision, type Decision, type DecisionPlan, type Disposition } from '../core/decide.js';
import { buildSendBounce } from '../core/dsn.js';
import { parseSesEvent, type SesRecord } from '../core/event.js';
import type { CompiledPolicy } from '../core/policy-compiler.js';
import { MetricName, type LogPort, type MetricsPort } from './telemetry.js';

export interface ReceiptDeps {
  readonly policy: CompiledPolicy;
  readonly ledger: Ledger;
  readonly queue: BounceQueue;
  readonly logger: LogPort;
  readonly metrics: MetricsPort;
  /** @default () => new Date() */
  readonly clock?: () => Date;
  /** @default randomUUID */
  readonly newClaimToken?: () => string;
  /** Sees every final decision (the local pipeline's report). @default none */
  readonly onDecision?: (decision: Decision) => void;
}

export interface ReceiptResult {
  readonly disposition: Disposition;
}

const CONTINUE: ReceiptResult = { disposition: 'CONTINUE' };

/**
 * SES receipt event → { disposition }: validate, decide, claim, queue. Any failure fails open
 * into delivery (CONTINUE), never into a bounce: an invalid record is skipped, and an error
 * from the ledger or the queue propagates to the handler's fail-open middleware.
 */
export async function receive(event: unknown, deps: ReceiptDeps): Promise<ReceiptResult> {
  const dispositions: Disposition[] = [];
  for (const result of parseSesEvent(event)) {
    if (!result.ok) {
      deps.logger.error('invalid SES event: delivering it untouched', { reason: result.error });
      deps.metrics.count(MetricName.Errors);
      dispositions.push('CONTINUE');
      continue;
    }
    const decision = await decideAndQueue(result.record, deps);
    report(decision, deps);
    dispositions.push(decision.disposition);
  }
  // SES sends one record per invocation; with several, stop only if every record says so.
  return dispositions.length > 0 && dispositions.every((d) => d === 'STOP_RULE_SET') ? { disposition: 'STOP_RULE_SET' } : CONTINUE;
}

async function decideAndQueue(record: SesRecord, deps: ReceiptDeps): Promise<Decision> {
  const now = (deps.clock ?? (() => new Date()))();
  const plan = planDecision(record, deps.policy, now);
  // Dry-run decides and logs, and never touches the ledger or the queue: rollout costs nothing.
  if (plan.decision.dryRun || plan.bounced.length === 0) return plan.decision;
  return queueBounces(plan, deps, now);
}

async function queueBounces(plan: DecisionPlan, deps: ReceiptDeps, now: Date): Promise<Decision> {
  const { message } = plan;
  const claimToken = (deps.newClaimToken ?? randomUUID)();
  const { claimed, alreadyClaimed } = await deps.ledger.claim({
    messageId: message.messageId,
    recipients: plan.bounced.map((entry) => entry.address),
    claimToken,
    receiptTime: message.receiptTime,
    now,
  });
  if (alreadyClaimed.length > 0) {
    // Another invocation (a retry, or a second receipt rule) already bounces these.
    deps.metrics.count(MetricName.ClaimConflict, alreadyClaimed.length);
    deps.logger.info('recipients already claimed by another invocation', { messageId: message.messageId, recipients: alreadyClaimed });
  }
  if (claimed.length === 0) return plan.decision;

  // Whatever fails from here on, the claims are released, so that another invocation (a second
  // receipt rule, a redelivery) can still bounce these recipients.
  const release = () =>
    deps.ledger.release(message.messageId, claimed, claimToken).catch((releaseError: unknown) =>
      deps.logger.error('cannot release claims', { messageId: message.messageId, error: releaseError as Error }),
    );
  try {
    // Counted only for bounces this invocation will send, so a duplicate invocation costs no budget.
    const withinBudget = await deps.ledger.takeSenderQuota(message.sender, now, deps.policy.guards.maxBouncesPerSenderPerHour);
    if (!withinBudget) {
      await release();
      return guardSenderRate(plan, deps.policy).decision;
    }
    const mine = new Set(claimed);
    const bounced = plan.bounced.filter((entry) => mine.has(ledgerRecipient(entry.address)));
    const sendBounce = buildSendBounce(message, bounced, deps.policy, now)!;
    await deps.queue.enqueue({
      version: 1,
      messageId: message.messageId,
      // In the order of BouncedRecipientInfoList, which lists each address once, as the ledger keys it.
      recipients: [...new Set(bounced.map((entry) => ledgerRecipient(entry.address)))],
      receiptTime: message.receiptTime.toISOString(),
      claimToken,
      sendBounce,
    });
    deps.metrics.count(MetricName.Queued, claimed.length);
    return { ...plan.decision, sendBounce };
  } catch (error) {
    await release();
    throw error;
  }
}

/** One structured line per recipient decision, and the counts the dashboard shows. */
function report(decision: Decision, deps: ReceiptDeps): void {
  deps.onDecision?.(decision);
  for (const recipient of decision.recipients) {
    deps.logger.info('decision', {
      messageId: decision.messageId,
      recipient: recipient.address,
      action: recipient.action,
      rule: recipient.rule,
      ...(recipient.guard ? { guard: recipient.guard } : {}),
      ...(decision.dryRun ? { dryRun: true } : {}),
    });
    if (recipient.guard) {
      deps.metrics.count(MetricName.Guarded);
      deps.metrics.count(MetricName.Guarded, 1, { name: 'Guard', value: recipient.guard });
    }
    if (recipient.action === 'deliver') deps.metrics.count(MetricName.Delivered);
    if (recipient.action === 'drop') deps.metrics.count(MetricName.Dropped);
  }
}
