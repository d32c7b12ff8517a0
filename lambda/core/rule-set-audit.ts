import { parseRuleRecipient, type AcceptSet } from './ses-recipients.js';

// SES refuses an address only if no rule of the active rule set lists it (docs/refusal.md), and
// a rule SES runs for an address never shows it to the bouncer's rules: the function cannot see
// that another rule takes what `accept` leaves out. This reads the active rule set instead.

/** A receipt rule of the active rule set, as DescribeActiveReceiptRuleSet returns it. */
export interface ActiveRule {
  readonly name: string;
  readonly enabled: boolean;
  /** Empty: the rule takes every verified domain. */
  readonly recipients: readonly string[];
}

export interface ActiveRuleSet {
  readonly name: string;
  readonly rules: readonly ActiveRule[];
}

/** Something that keeps SES from refusing what `accept` leaves out, or from running the bouncer. */
export interface AuditFinding {
  /** The rule at fault, or null for the rule set itself. */
  readonly rule: string | null;
  readonly problem: string;
}

export interface ExpectedRules {
  readonly ruleSetName: string;
  /** The bouncer's own receipt rules. */
  readonly ruleNames: readonly string[];
}

/** Every finding, in the rule set's order; none when SES refuses exactly what `accept` leaves out. */
export function auditActiveRuleSet(active: ActiveRuleSet | undefined, expected: ExpectedRules, accept: AcceptSet): AuditFinding[] {
  if (active === undefined) return [{ rule: null, problem: 'no receipt rule set is active: SES receives no mail in this region' }];
  if (active.name !== expected.ruleSetName) {
    return [{ rule: null, problem: `the active rule set is ${active.name}, not ${expected.ruleSetName}: SES does not run the bouncer's rules` }];
  }
  const findings: AuditFinding[] = [];
  const own = new Set(expected.ruleNames);
  for (const name of expected.ruleNames) {
    const rule = active.rules.find((candidate) => candidate.name === name);
    if (rule === undefined) findings.push({ rule: name, problem: 'missing from the active rule set: SES refuses the addresses it should list' });
    else if (!rule.enabled) findings.push({ rule: name, problem: 'disabled: SES refuses the addresses it lists' });
  }
  for (const rule of active.rules) {
    if (own.has(rule.name) || !rule.enabled) continue;
    if (rule.recipients.length === 0) {
      findings.push({ rule: rule.name, problem: 'lists no recipient, so it takes every verified domain: SES refuses nothing' });
      continue;
    }
    const beyond = rule.recipients.filter((recipient) => !accept.takesAll(parseRuleRecipient(recipient)));
    if (beyond.length > 0) {
      const shown = beyond.slice(0, 5).join(', ') + (beyond.length > 5 ? ` and ${beyond.length - 5} more` : '');
      findings.push({ rule: rule.name, problem: `lists ${shown}, which takes addresses accept leaves out: SES accepts them instead of refusing them` });
    }
  }
  return findings;
}
