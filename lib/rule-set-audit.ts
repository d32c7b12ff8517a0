import { Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../lambda/app/metric-names.js';
import { AUDIT_CALL_MS } from '../lambda/app/time-budget.js';
import { BundledFunction } from './bundled-function.js';
import { activeRuleSetPolicy } from './active-rule-set-policy.js';

export interface RuleSetAuditProps {
  readonly ruleSetName: string;
  /** The bouncer's own receipt rules. */
  readonly ruleNames: readonly string[];
  /** The compiled policy's JSON (SynthPolicy `json`; the audit reads its `accept`), the function's `policy.json`. */
  readonly policyJson: string;
  /** How often the active rule set is read. */
  readonly every: Duration;
  readonly logRetention: logs.RetentionDays;
}

/**
 * Watches the active rule set for what would keep SES from refusing what `accept` leaves out: a
 * rule that lists more (its whole domain), a rule without recipients, the bouncer's rules missing,
 * disabled or not in the active set (docs/refusal.md "Watching the rule set"). A scheduled
 * function; its findings are the `AcceptBypassed` metric, which the alarms watch.
 */
export class RuleSetAudit extends Construct {
  readonly function: lambda.Function;
  readonly schedule: events.Rule;

  constructor(scope: Construct, id: string, props: RuleSetAuditProps) {
    super(scope, id);
    const bundled = new BundledFunction(this, 'Function', {
      handler: 'audit',
      description: "ses-bouncer: checks that the active receipt rule set refuses what the policy's accept leaves out",
      roleDescription: 'ses-bouncer rule-set audit',
      memorySize: 256,
      timeout: Duration.millis(2 * AUDIT_CALL_MS),
      logRetention: props.logRetention,
      environment: {
        RULE_SET_NAME: props.ruleSetName,
        RULE_NAMES: props.ruleNames.join(','),
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      },
      files: { 'policy.json': props.policyJson },
    });
    activeRuleSetPolicy(this, 'ReadActiveRuleSet', bundled.role, ['ses:DescribeActiveReceiptRuleSet']);
    this.function = bundled.function;
    this.schedule = new events.Rule(this, 'Schedule', {
      description: 'ses-bouncer: audit the active receipt rule set',
      schedule: events.Schedule.rate(props.every),
      targets: [new targets.LambdaFunction(bundled.function, { retryAttempts: 0 })],
    });
  }
}
