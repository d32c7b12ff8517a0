import { ArnFormat, Aws, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as ses from 'aws-cdk-lib/aws-ses';
import * as sesActions from 'aws-cdk-lib/aws-ses-actions';
import { Construct } from 'constructs';

export interface BouncerReceiptRuleProps {
  readonly ruleSetName: string;
  /** Add the rule to this existing set instead of creating it. */
  readonly existingRuleSet: boolean;
  readonly ruleName: string;
  readonly recipients: readonly string[];
  readonly after: string | undefined;
  readonly tlsPolicy: ses.TlsPolicy;
  readonly receiptFunction: lambda.IFunction;
}

/**
 * The receipt rule: explicit recipients (none would match every verified domain), spam and
 * virus scanning so the guards see the verdicts, and the receipt function as a RequestResponse
 * Lambda action; in a new rule set or an existing one. SES may invoke the function only from
 * this account and this rule.
 */
export class BouncerReceiptRule extends Construct {
  readonly ruleSet: ses.IReceiptRuleSet;
  readonly rule: ses.ReceiptRule;

  constructor(scope: Construct, id: string, props: BouncerReceiptRuleProps) {
    super(scope, id);
    this.ruleSet = props.existingRuleSet
      ? ses.ReceiptRuleSet.fromReceiptRuleSetName(this, 'RuleSet', props.ruleSetName)
      : new ses.ReceiptRuleSet(this, 'RuleSet', { receiptRuleSetName: props.ruleSetName });
    // Added before the SES Lambda action binds, so the action keeps this permission instead of
    // adding one limited by account only. The ARN is built from names: a Ref to the rule would be a cycle.
    props.receiptFunction.addPermission('AllowSes', {
      principal: new iam.ServicePrincipal('ses.amazonaws.com'),
      action: 'lambda:InvokeFunction',
      sourceAccount: Aws.ACCOUNT_ID,
      sourceArn: Stack.of(this).formatArn({
        service: 'ses',
        resource: 'receipt-rule-set',
        resourceName: `${props.ruleSetName}:receipt-rule/${props.ruleName}`,
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      }),
    });
    this.rule = new ses.ReceiptRule(this, 'Rule', {
      ruleSet: this.ruleSet,
      receiptRuleName: props.ruleName,
      recipients: [...props.recipients],
      scanEnabled: true,
      tlsPolicy: props.tlsPolicy,
      enabled: true,
      after: props.after ? ses.ReceiptRule.fromReceiptRuleName(this, 'After', props.after) : undefined,
      actions: [new sesActions.Lambda({ function: props.receiptFunction, invocationType: sesActions.LambdaInvocationType.REQUEST_RESPONSE })],
    });
  }
}
