import { Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';

/** The SES actions on the account's active receipt rule set, which IAM knows no resource for. */
export type ActiveRuleSetAction = 'ses:DescribeActiveReceiptRuleSet' | 'ses:SetActiveReceiptRuleSet';

/**
 * An inline policy allowing exactly `actions` on the active rule set, attached to `role`, with
 * cdk-nag's IAM5 finding acknowledged for its one reason: these actions support no
 * resource-level permissions (SES's actions, resources and condition keys: the active rule set is
 * an account-wide setting), so IAM accepts only `Resource: "*"` for them.
 */
export function activeRuleSetPolicy(scope: Construct, id: string, role: iam.IRole, actions: readonly ActiveRuleSetAction[]): iam.Policy {
  const policy = new iam.Policy(scope, id, { statements: [new iam.PolicyStatement({ actions: [...actions], resources: ['*'] })] });
  role.attachInlinePolicy(policy);
  Validations.of(policy).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason: `${actions.join(' and ')} ${actions.length === 1 ? 'supports' : 'support'} no resource-level permissions (the active rule set is an account-wide setting), so IAM accepts only Resource "*" for them.`,
  });
  return policy;
}
