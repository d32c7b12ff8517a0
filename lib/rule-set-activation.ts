import { CustomResource, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { PROJECT_ROOT, sourceFile } from './paths.js';

export interface RuleSetActivationProps {
  /** Name of the receipt rule set to make the account's active one. */
  readonly ruleSetName: string;
  /**
   * Retention of the function's log group.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * Makes a receipt rule set the active one, recording the set that was active before; on delete,
 * if the set is still the active one, re-activates the previous set (or none, if none was).
 *
 * SES has one active rule set per account and region, and no CloudFormation resource for it.
 */
export class RuleSetActivation extends Construct {
  readonly resource: CustomResource;
  readonly function: lambda.IFunction;

  constructor(scope: Construct, id: string, props: RuleSetActivationProps) {
    super(scope, id);
    const logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: props.logRetention ?? logs.RetentionDays.THREE_MONTHS,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'ses-bouncer: activates the receipt rule set and restores the previous one on delete',
    });
    logGroup.grantWrite(role);
    const sesPolicy = new iam.Policy(this, 'SesPolicy', {
      statements: [
        new iam.PolicyStatement({
          actions: ['ses:DescribeActiveReceiptRuleSet', 'ses:SetActiveReceiptRuleSet'],
          resources: ['*'],
        }),
      ],
    });
    role.attachInlinePolicy(sesPolicy);
    Validations.of(sesPolicy).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'ses:DescribeActiveReceiptRuleSet and ses:SetActiveReceiptRuleSet support no resource-level permissions ' +
        '(the active rule set is an account-wide setting), so IAM accepts only Resource "*" for them.',
    });

    const fn = new NodejsFunction(this, 'Function', {
      entry: sourceFile('lib/rule-set-activation.handler.ts'),
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.minutes(1),
      role,
      logGroup,
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: sourceFile('package-lock.json'),
      description: 'ses-bouncer: receipt rule set activation (CloudFormation custom resource)',
      bundling: {
        forceDockerBundling: false,
        format: OutputFormat.CJS,
        minify: true,
        target: 'node22',
        // Runs once per deployment: the runtime's SDK is good enough, and keeps this bundle tiny.
        externalModules: ['@aws-sdk/*'],
      },
    });
    fn.node.addDependency(sesPolicy);
    Validations.of(fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'ses-bouncer targets the nodejs22.x runtime for all of its functions (project decision; Node.js 22 is in AWS support).',
    });
    this.function = fn;

    this.resource = new CustomResource(this, 'Resource', {
      serviceToken: fn.functionArn,
      resourceType: 'Custom::SesActiveReceiptRuleSet',
      properties: { RuleSetName: props.ruleSetName },
    });
  }
}
