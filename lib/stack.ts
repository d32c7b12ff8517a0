import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { SesBouncer, type SesBouncerProps } from './ses-bouncer.js';

export interface SesBouncerStackProps extends StackProps {
  /** Settings of the SesBouncer construct. */
  readonly bouncer: SesBouncerProps;
}

/** One SesBouncer and the outputs an operator needs. */
export class SesBouncerStack extends Stack {
  readonly bouncer: SesBouncer;

  constructor(scope: Construct, id: string, props: SesBouncerStackProps) {
    // Unindented: a large accept list fits CloudFormation's 1 MB template quota with room to
    // spare (the indentation of 20,000 recipients alone is 200 KB). `cdk synth` still prints YAML.
    super(scope, id, { suppressTemplateIndentation: true, ...props });
    this.bouncer = new SesBouncer(this, 'Bouncer', props.bouncer);
    new CfnOutput(this, 'ReceiptRuleSetName', { value: this.bouncer.ruleSet.receiptRuleSetName });
    new CfnOutput(this, 'ReceiptRuleName', { value: this.bouncer.rule.receiptRuleName });
    new CfnOutput(this, 'LedgerTableName', { value: this.bouncer.table.tableName });
    new CfnOutput(this, 'BounceQueueUrl', { value: this.bouncer.queue.queueUrl });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.bouncer.deadLetterQueue.queueUrl });
    new CfnOutput(this, 'BounceIdentityArn', { value: this.bouncer.bounceIdentityArn });
    if (this.bouncer.alarmTopic) new CfnOutput(this, 'AlarmTopicArn', { value: this.bouncer.alarmTopic.topicArn });
  }
}
