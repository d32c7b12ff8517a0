import { CustomResource, Duration } from 'aws-cdk-lib';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { BundledFunction } from './bundled-function.js';
import { activeRuleSetPolicy } from './active-rule-set-policy.js';

export interface RuleSetActivationProps {
  /** Name of the receipt rule set to make the account's active one. */
  readonly ruleSetName: string;
  /**
   * Activate it even when another rule set is active (whose rules then stop running).
   * @default false - deployment fails, naming the active set
   */
  readonly displaceActiveRuleSet?: boolean;
  readonly logRetention: logs.RetentionDays;
}

/**
 * Makes a receipt rule set the active one, safely (lib/rule-set-activation.handler.ts): never
 * displacing another active set unless told to, restoring the previous set on delete only while
 * ours is still the active one, never switching receiving off. SES has one active rule set per
 * account and region, and no CloudFormation resource for it.
 */
export class RuleSetActivation extends Construct {
  readonly resource: CustomResource;
  readonly function: lambda.IFunction;

  constructor(scope: Construct, id: string, props: RuleSetActivationProps) {
    super(scope, id);
    const bundled = new BundledFunction(this, 'Handler', {
      handler: 'rule-set-activation',
      description: 'ses-bouncer: receipt rule set activation (CloudFormation custom resource)',
      roleDescription: 'ses-bouncer: activates the receipt rule set and restores the previous one on delete',
      memorySize: 256,
      // Longer than the handler's worst case (WORST_CASE_MS, about 2.5 minutes: every call timing
      // out to its last attempt), so that Lambda never stops it between a change and its answer.
      timeout: Duration.minutes(4),
      logRetention: props.logRetention,
    });
    // Never run an event twice: a second run after an activation would find our set active and
    // could no longer tell which set to restore (CloudFormation invokes asynchronously; Lambda's
    // default is two retries).
    bundled.function.configureAsyncInvoke({ retryAttempts: 0 });
    const sesPolicy = activeRuleSetPolicy(this, 'SesPolicy', bundled.role, ['ses:DescribeActiveReceiptRuleSet', 'ses:SetActiveReceiptRuleSet']);
    bundled.function.node.addDependency(sesPolicy);
    this.function = bundled.function;
    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: bundled.function.functionArn,
      resourceType: 'Custom::SesActiveReceiptRuleSet',
      // CloudFormation waits this long for an answer, not its default hour: the handler answers
      // within its 4-minute timeout or not at all.
      serviceTimeout: Duration.minutes(5),
      properties: { RuleSetName: props.ruleSetName, DisplaceActiveRuleSet: String(props.displaceActiveRuleSet ?? false) },
    });
  }
}
