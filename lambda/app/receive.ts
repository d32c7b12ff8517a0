import { randomUUID } from 'node:crypto';
import { Disposition, guardSenderRate, planDecision, type Decision, type DecisionPlan, type StopDisposition } from '../core/decide.js';
import { parseSesEvent, type SesRecord } from '../core/event.js';
import { JOB_VERSION, jobRecipients, type BounceJob } from '../core/job.js';
import type { CompiledPolicy } from '../core/policy-compiler.js';
import { CancelResult, systemClock, type BounceQueue, type Clock, type Ledger, type LogPort, type MetricsPort } from './ports.js';
import { MetricName } from './telemetry.js';
import {
  RECEIPT_ANSWER_MARGIN_MS,
  RECEIPT_DEFAULT_BUDGET_MS,
  RECEIPT_ENQUEUE_SHARE,
  RECEIPT_QUOTA_SHARE,
} from './time-budget.js';

export interface ReceiptDeps {
  readonly policy: CompiledPolicy;
  readonly ledger: Ledger;
  readonly queue: BounceQueue;
  readonly logger: LogPort;
  readonly metrics: MetricsPort;
  /** @default systemClock */
  readonly clock?: Clock;
  /** @default randomUUID */
  readonly newJobId?: () => string;
  /**
   * What to answer SES when nothing is delivered. A deployment of several receipt rules answers
   * STOP_RULE, so that one rule's answer never stops the rules after it, which hold other
   * recipients of the same message (docs/refusal.md "Several rules").
   * @default STOP_RULE_SET
   */
  readonly stopDisposition?: StopDisposition;
  /** Sees every final decision (the local pipeline's report). @default none */
  readonly onDecision?: (decision: Decision) => void;
}

export interface ReceiptResult {
  readonly disposition: Disposition;
}

/**
 * SES receipt event → { disposition }: validate, decide, queue, answer (docs/delivery.md
 * "Receipt"). STOP_RULE_SET only once the queue holds the bounce job; anything that keeps the
 * job from being queued fails open into delivery (CONTINUE), never into a bounce. Every call
 * out is bounded so the answer reaches SES in time (`remainingTimeMs`, the Lambda context's).
 */
export async function receive(event: unknown, deps: ReceiptDeps, remainingTimeMs?: () => number): Promise<ReceiptResult> {
  const clock = deps.clock ?? systemClock;
  const budget = Math.max(0, (remainingTimeMs?.() ?? RECEIPT_DEFAULT_BUDGET_MS) - RECEIPT_ANSWER_MARGIN_MS);
  const start = Date.now();
  const deadlines: Deadlines = { quota: start + budget * RECEIPT_QUOTA_SHARE, enqueue: start + budget * RECEIPT_ENQUEUE_SHARE, cancel: start + budget };
  const dispositions: Disposition[] = [];
  for (const result of parseSesEvent(event)) {
    if (!result.ok) {
      deps.logger.error('invalid SES event: delivering it untouched', { reason: result.error });
      deps.metrics.count(MetricName.Errors);
      dispositions.push(Disposition.Continue);
      continue;
    }
    const decision = await decideAndQueue(result.record, deps, clock(), deadlines);
    report(decision, deps);
    dispositions.push(decision.disposition);
  }
  // SES sends one record per invocation; with several, stop only if every record says so.
  const stop = dispositions.length > 0 && dispositions.every((d) => d === Disposition.StopRuleSet);
  return { disposition: stop ? (deps.stopDisposition ?? Disposition.StopRuleSet) : Disposition.Continue };
}

/** Epoch ms by which each step must be answered. */
interface Deadlines {
  readonly quota: number;
  readonly enqueue: number;
  readonly cancel: number;
}

async function decideAndQueue(record: SesRecord, deps: ReceiptDeps, now: Date, deadlines: Deadlines): Promise<Decision> {
  const plan = planDecision(record, deps.policy, now);
  // Dry-run decides and logs, and never touches the ledger or the queue: rollout costs nothing.
  if (plan.decision.dryRun || plan.decision.sendBounce === null) return plan.decision;
  const withinBudget = await takeSenderQuota(plan, deps, now, until(deadlines.quota));
  if (withinBudget === undefined) return failOpen(plan.decision, deps);
  if (!withinBudget) return guardSenderRate(plan, deps.policy).decision;
  return queue(plan, deps, now, deadlines);
}

/** The sender-rate guard (last in the guard order): one conditional counter per bounced message. undefined when DynamoDB did not answer. */
async function takeSenderQuota(plan: DecisionPlan, deps: ReceiptDeps, now: Date, signal: AbortSignal): Promise<boolean | undefined> {
  try {
    return await deps.ledger.takeSenderQuota(plan.message.sender, plan.message.messageId, now, deps.policy.guards.maxBouncesPerSenderPerHour, signal);
  } catch (error) {
    deps.logger.error('sender quota unavailable: delivering the message instead of bouncing', { messageId: plan.message.messageId, error: error as Error });
    deps.metrics.count(MetricName.Errors);
    return undefined;
  }
}

/**
 * Queues the job and answers by what is known of it. If SQS does not confirm (an error, a
 * timeout), the job may still have arrived: tombstones in the ledger make sure that, if it
 * did, it sends nothing, so the message can be delivered instead; or they find that its
 * delivery already holds every recipient, and the bounce stands.
 */
async function queue({ decision, message }: DecisionPlan, deps: ReceiptDeps, now: Date, deadlines: Deadlines): Promise<Decision> {
  const sendBounce = decision.sendBounce!;
  const job: BounceJob = {
    version: JOB_VERSION,
    jobId: (deps.newJobId ?? randomUUID)(),
    messageId: decision.messageId,
    receiptTime: message.receiptTime.toISOString(),
    sendBounce,
  };
  const recipients = jobRecipients(job);
  try {
    await deps.queue.enqueue(job, until(deadlines.enqueue));
    deps.metrics.count(MetricName.Queued, recipients.length);
    return decision;
  } catch (error) {
    deps.logger.error('the bounce queue did not confirm the job: cancelling it', { messageId: job.messageId, jobId: job.jobId, error: error as Error });
    deps.metrics.count(MetricName.Errors);
  }
  let cancelled: CancelResult;
  try {
    cancelled = await deps.ledger.cancel(job.messageId, recipients, job.jobId, now, until(deadlines.cancel));
  } catch (error) {
    deps.logger.error('cannot cancel the job either: if the queue has it, the message is bounced and delivered', { messageId: job.messageId, jobId: job.jobId, error: error as Error });
    deps.metrics.count(MetricName.Errors);
    cancelled = CancelResult.Mixed;
  }
  if (cancelled === CancelResult.Alive) {
    deps.metrics.count(MetricName.Queued, recipients.length);
    return decision;
  }
  return failOpen(decision, deps);
}

/** The bounce cannot be made durable: deliver the message (CONTINUE) rather than risk losing it. */
function failOpen(decision: Decision, deps: ReceiptDeps): Decision {
  deps.metrics.count(MetricName.NotQueued, decision.sendBounce?.BouncedRecipientInfoList.length ?? 0);
  return { ...decision, disposition: Disposition.Continue };
}

function until(deadline: number): AbortSignal {
  return AbortSignal.timeout(Math.max(0, Math.ceil(deadline - Date.now())));
}

/** One structured line per recipient decision, and the counts the dashboard shows. */
function report(decision: Decision, deps: ReceiptDeps): void {
  deps.onDecision?.(decision);
  // In dry-run the rules list accept's whole domains (README "Refusing at SMTP time"): a refusal is what enforce would do, logged below.
  const refused = decision.dryRun ? [] : decision.recipients.filter((recipient) => recipient.action === 'refuse');
  if (refused.length > 0) {
    deps.logger.warn('SES passed recipients outside accept: another receipt rule of the active rule set lists them, so SES does not refuse them (README "Refusing at SMTP time")', {
      messageId: decision.messageId,
      recipients: refused.map((recipient) => recipient.address),
    });
    deps.metrics.count(MetricName.Refused, refused.length);
  }
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
