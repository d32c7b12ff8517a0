import { ArnFormat, Aws, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as ses from 'aws-cdk-lib/aws-ses';
import * as sesActions from 'aws-cdk-lib/aws-ses-actions';
import { Construct, type IConstruct } from 'constructs';

export interface BouncerReceiptRuleProps {
  readonly ruleSetName: string;
  /** Add the rules to this existing set instead of creating it. */
  readonly existingRuleSet: boolean;
  /** The first rule's name; the others are `${ruleName}-2`, `${ruleName}-3`… */
  readonly ruleName: string;
  /** The recipients of each rule, in order: one rule per entry. */
  readonly ruleRecipients: readonly (readonly string[])[];
  /** Actions run after the Lambda action in every rule. */
  readonly actions: readonly ses.IReceiptRuleAction[];
  readonly after: string | undefined;
  readonly tlsPolicy: ses.TlsPolicy;
  readonly receiptFunction: lambda.IFunction;
}

/**
 * The receipt rules: explicit recipients (none would match every verified domain), spam and
 * virus scanning so the guards see the verdicts, the receipt function as a RequestResponse
 * Lambda action and then the user's delivery actions; in a new rule set or an existing one.
 * One rule, or as many as SES's per-rule quota needs for the policy's `accept`, placed one
 * after the other. SES may invoke the function only from this account and these rules.
 */
export class BouncerReceiptRule extends Construct {
  readonly ruleSet: ses.IReceiptRuleSet;
  /** In rule-set order. */
  readonly rules: readonly ses.ReceiptRule[];
  /** Their names, in the same order. */
  readonly ruleNames: readonly string[];

  constructor(scope: Construct, id: string, props: BouncerReceiptRuleProps) {
    super(scope, id);
    this.ruleSet = props.existingRuleSet
      ? ses.ReceiptRuleSet.fromReceiptRuleSetName(this, 'RuleSet', props.ruleSetName)
      : new ses.ReceiptRuleSet(this, 'RuleSet', { receiptRuleSetName: props.ruleSetName });
    const names = props.ruleRecipients.map((_, index) => (index === 0 ? props.ruleName : `${props.ruleName}-${index + 1}`));
    this.ruleNames = names;
    // Added before the SES Lambda action binds, so the action keeps these permissions instead of
    // adding one limited by account only. The ARNs are built from names: a Ref to a rule would be
    // a cycle. One statement covers the rules after the first: Lambda's resource policy is
    // limited in size (20 KB, Lambda quotas), and there may be 200 rules.
    this.#allowSes(props, 'AllowSes', props.ruleName);
    const more = names.length > 1 ? this.#allowSes(props, 'AllowSesMoreRules', `${props.ruleName}-*`) : undefined;
    const rules: ses.ReceiptRule[] = [];
    names.forEach((name, index) => {
      const previous = rules[index - 1];
      rules.push(
        new ses.ReceiptRule(this, index === 0 ? 'Rule' : `Rule${index + 1}`, {
          ruleSet: this.ruleSet,
          receiptRuleName: name,
          recipients: [...props.ruleRecipients[index]!],
          scanEnabled: true,
          tlsPolicy: props.tlsPolicy,
          enabled: true,
          // Each rule after the one before: the set's order is the policy's, and CloudFormation
          // creates them one at a time.
          after: previous ?? (props.after ? ses.ReceiptRule.fromReceiptRuleName(this, 'After', props.after) : undefined),
          actions: [new sesActions.Lambda({ function: props.receiptFunction, invocationType: sesActions.LambdaInvocationType.REQUEST_RESPONSE }), ...props.actions],
        }),
      );
    });
    // SES checks that it may invoke the function when a rule is created or updated: the Lambda
    // action only waits for the permission named AllowSes, so the later rules wait for theirs.
    if (more) for (const rule of rules.slice(1)) rule.node.addDependency(more);
    this.rules = rules;
  }

  #allowSes(props: BouncerReceiptRuleProps, id: string, rulePattern: string): IConstruct {
    props.receiptFunction.addPermission(id, {
      principal: new iam.ServicePrincipal('ses.amazonaws.com'),
      action: 'lambda:InvokeFunction',
      sourceAccount: Aws.ACCOUNT_ID,
      sourceArn: Stack.of(this).formatArn({
        service: 'ses',
        resource: 'receipt-rule-set',
        resourceName: `${props.ruleSetName}:receipt-rule/${rulePattern}`,
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      }),
    });
    return props.receiptFunction.permissionsNode.findChild(id);
  }
}
