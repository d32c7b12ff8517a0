import { auditActiveRuleSet, type AuditFinding, type ExpectedRules } from '../core/rule-set-audit.js';
import type { AcceptSet } from '../core/ses-recipients.js';
import type { LogPort, MetricsPort, RuleSetReader } from './ports.js';
import { MetricName } from './telemetry.js';
import { AUDIT_CALL_MS } from './time-budget.js';

export interface AuditDeps {
  readonly reader: RuleSetReader;
  readonly accept: AcceptSet;
  readonly expected: ExpectedRules;
  readonly logger: LogPort;
  readonly metrics: MetricsPort;
}

/**
 * Scheduled: reads the active rule set and reports, one warning and one `AcceptBypassed` count
 * each, whatever keeps SES from refusing what `accept` leaves out (docs/refusal.md "Watching the
 * rule set"). A failed read is an error of the function (its own alarm), never a finding.
 */
export async function auditRuleSet(deps: AuditDeps): Promise<{ readonly findings: readonly AuditFinding[] }> {
  const active = await deps.reader.active(AbortSignal.timeout(AUDIT_CALL_MS));
  const findings = auditActiveRuleSet(active, deps.expected, deps.accept);
  for (const finding of findings) {
    deps.logger.warn(`SES does not refuse what accept leaves out: ${finding.rule === null ? 'the rule set' : `rule ${finding.rule}`} ${finding.problem}`, {
      ruleSet: active?.name ?? null,
      rule: finding.rule,
    });
  }
  if (findings.length === 0) deps.logger.info('the active rule set refuses what accept leaves out', { ruleSet: active?.name, rules: active?.rules.length });
  deps.metrics.count(MetricName.AcceptBypassed, findings.length);
  return { findings };
}
