import { Annotations, ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ses from 'aws-cdk-lib/aws-ses';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { queueSettings } from '../lambda/app/time-budget.js';
import { METRICS_NAMESPACE, type MetricName, SERVICE_NAME } from '../lambda/app/metric-names.js';
import { Disposition } from '../lambda/core/disposition.js';
import { unreachableRecipientPatterns } from '../lambda/core/reach.js';
import { bouncerMetric, BouncerAlarms, BouncerDashboard } from './alarms.js';
import { BounceQueues } from './bounce-queues.js';
import { BouncerFunctions } from './bouncer-functions.js';
import { SesBouncerConfigError } from './errors.js';
import { LedgerTable } from './ledger-table.js';
import { validateProps, type SesBouncerProps, type Settings } from './props.js';
import { BouncerReceiptRule } from './receipt-rule.js';
import { RuleSetActivation } from './rule-set-activation.js';
import { RuleSetAudit } from './rule-set-audit.js';
import { loadSynthPolicy } from './synth-policy.js';
import type { SynthPolicy } from './synth-policy-types.js';
import type { CompiledPolicy } from '../lambda/app/policy-loader.js';

export { METRICS_NAMESPACE, SERVICE_NAME };
export type { SesBouncerProps };

/**
 * Bounces unwanted inbound mail on Amazon SES: a receipt rule → receipt function (decides,
 * queues) → SQS FIFO → delivery function (claims, SendBounce at the SES rate, records) → ledger
 * (docs/architecture.md). Each part is a small construct of its own, read as the resources it
 * creates: the ledger, the queues, the functions, the receipt rule, the activation, the alarms
 * and the dashboard.
 */
export class SesBouncer extends Construct {
  readonly ruleSet: ses.IReceiptRuleSet;
  /** The first receipt rule (named `ruleName`). */
  readonly rule: ses.ReceiptRule;
  /** Every receipt rule, in rule-set order: one, or as many as the policy's `accept` needs. */
  readonly rules: readonly ses.ReceiptRule[];
  readonly receiptFunction: lambda.Function;
  readonly deliveryFunction: lambda.Function;
  readonly table: dynamodb.Table;
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  /** The topic alarms notify, if any. */
  readonly alarmTopic: sns.ITopic | undefined;
  readonly alarms: readonly cloudwatch.Alarm[];
  readonly dashboard: cloudwatch.Dashboard | undefined;
  /** ARN `ses:SendBounce` is granted on. */
  readonly bounceIdentityArn: string;
  /** The validated policy: its file and the JSON the receipt function gets. */
  readonly policy: SynthPolicy;
  readonly #compiled: CompiledPolicy;
  readonly activation: RuleSetActivation | undefined;
  /** With `accept`: the scheduled check that SES refuses what it leaves out. */
  readonly audit: RuleSetAudit | undefined;

  constructor(scope: Construct, id: string, props: SesBouncerProps) {
    super(scope, id);
    if (typeof props.policy !== 'string' || props.policy.trim() === '') throw new SesBouncerConfigError('SesBouncer: invalid props', ['policy: a policy file is required']);
    const { compiled, ...policy } = loadSynthPolicy(props.policy);
    this.policy = policy;
    this.#compiled = compiled;
    const accept = compiled.accept;
    const dryRun = compiled.mode === 'dry-run';
    // CDK writes a stack's template indented unless it says otherwise (Stack's suppressTemplateIndentation, or its context key).
    const indentedTemplate = (Stack.of(this) as unknown as { _suppressTemplateIndentation?: boolean })._suppressTemplateIndentation !== true;
    const settings = validateProps(props, { ...(accept && { accept }), dryRun, indentedTemplate });
    this.bounceIdentityArn = this.#bounceIdentityArn(props.bounceIdentityArn);
    const logRetention = props.logRetention ?? logs.RetentionDays.THREE_MONTHS;
    this.#warnAboutUnreachableRules(settings.ruleRecipients.flat(), accept !== undefined);
    if (accept !== undefined) this.#warnAboutRefusal(props, settings);
    // One rule's STOP_RULE_SET would stop the rules after it, which hold other recipients of the
    // same message: with several rules, each stops only itself (README "Several rules").
    const stopDisposition = settings.ruleRecipients.length > 1 ? Disposition.StopRule : Disposition.StopRuleSet;

    this.table = new LedgerTable(this, 'Ledger', { removalPolicy: props.tableRemovalPolicy ?? RemovalPolicy.RETAIN }).table;
    const queues = new BounceQueues(this, 'Queues', { timing: queueSettings(settings.deliveryTimeout.toSeconds(), settings.receiptTimeout.toSeconds()) });
    this.queue = queues.queue;
    this.deadLetterQueue = queues.deadLetterQueue;
    const functions = new BouncerFunctions(this, 'Functions', {
      table: this.table,
      queue: this.queue,
      deadLetterQueue: this.deadLetterQueue,
      policyJson: this.policy.json,
      bounceIdentityArn: this.bounceIdentityArn,
      sendRatePerSecond: settings.sendRatePerSecond,
      receiptTimeout: settings.receiptTimeout,
      deliveryTimeout: settings.deliveryTimeout,
      stopDisposition,
      logRetention,
    });
    this.receiptFunction = functions.receipt;
    this.deliveryFunction = functions.delivery;

    const receiptRule = new BouncerReceiptRule(this, 'Receipt', {
      ruleSetName: settings.ruleSetName,
      existingRuleSet: settings.existingRuleSet,
      ruleName: settings.ruleName,
      ruleRecipients: settings.ruleRecipients,
      actions: settings.actions,
      after: props.after,
      tlsPolicy: props.tlsPolicy ?? ses.TlsPolicy.OPTIONAL,
      receiptFunction: this.receiptFunction,
    });
    this.ruleSet = receiptRule.ruleSet;
    this.rules = receiptRule.rules;
    this.rule = receiptRule.rules[0]!;
    if (accept !== undefined) {
      this.audit = new RuleSetAudit(this, 'RuleSetAudit', {
        ruleSetName: settings.ruleSetName,
        ruleNames: receiptRule.ruleNames,
        policyJson: this.policy.json,
        every: Duration.minutes(5),
        logRetention,
      });
    }
    if (settings.activateRuleSet) {
      this.activation = new RuleSetActivation(this, 'Activation', {
        ruleSetName: settings.ruleSetName,
        displaceActiveRuleSet: settings.displaceActiveRuleSet,
        logRetention,
      });
      // Activate once the rule is in place; on delete, restore before the rule set goes.
      this.activation.node.addDependency(receiptRule);
    }

    const alarms = new BouncerAlarms(this, 'Alarms', {
      queue: this.queue,
      deadLetterQueue: this.deadLetterQueue,
      receiptFunction: this.receiptFunction,
      deliveryFunction: this.deliveryFunction,
      ...(this.audit && { audit: this.audit.function }),
      ...(props.alarmTopic && { topic: props.alarmTopic }),
      ...(props.alarmEmail !== undefined && { email: props.alarmEmail }),
    });
    this.alarmTopic = alarms.topic;
    this.alarms = alarms.alarms;
    this.dashboard =
      props.dashboard === false
        ? undefined
        : new BouncerDashboard(this, 'Dashboard', {
            queue: this.queue,
            deadLetterQueue: this.deadLetterQueue,
            receiptFunction: this.receiptFunction,
            deliveryFunction: this.deliveryFunction,
          }).dashboard;
  }

  /** One of the handlers' EMF metrics (namespace SesBouncer, dimension service=ses-bouncer). */
  metric(metricName: MetricName, options: cloudwatch.MetricOptions = {}): cloudwatch.Metric {
    return bouncerMetric(metricName, options);
  }

  #bounceIdentityArn(fromProps: string | undefined): string {
    const fromPolicy = this.#compiled.bounce.senderArn;
    if (fromProps !== undefined && fromPolicy !== undefined && fromProps !== fromPolicy) {
      throw new SesBouncerConfigError('SesBouncer: invalid props', [
        `bounceIdentityArn: ${fromProps} differs from the policy's bounce.senderArn ${fromPolicy}; ` +
          "the delivery function sends with the policy's ARN, so that is the one to grant",
      ]);
    }
    if (fromProps ?? fromPolicy) return (fromProps ?? fromPolicy) as string;
    const sender = this.#compiled.bounce.sender;
    const domain = sender.slice(sender.lastIndexOf('@') + 1).toLowerCase();
    return Stack.of(this).formatArn({ service: 'ses', resource: 'identity', resourceName: domain, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
  }

  /** A policy rule about addresses SES never hands this deployment's function is a mistake: say so at synth. */
  #warnAboutUnreachableRules(recipients: readonly string[], fromAccept: boolean): void {
    for (const { path, pattern } of unreachableRecipientPatterns(this.#compiled.document, recipients)) {
      Annotations.of(this).addWarningV2(
        'ses-bouncer:unreachable-rule',
        fromAccept
          ? `${path}: ${pattern} can never match: the policy's accept takes no such address, so SES refuses it before the function sees it.`
          : `${path}: ${pattern} can never match: no receipt rule recipient (${recipients.join(', ')}) lets SES pass such an address to the function. ` +
              'Add its domain (example.com) or subdomains (.example.com) to the recipients, or drop the pattern.',
      );
    }
  }

  /** What SES's refusal depends on, and this deployment cannot check, said at synth (README "Refusing at SMTP time"). */
  #warnAboutRefusal(props: SesBouncerProps, settings: Settings): void {
    const warn = (id: string, message: string) => Annotations.of(this).addWarningV2(`ses-bouncer:${id}`, message);
    if (this.#compiled.mode === 'dry-run') {
      Annotations.of(this).addInfo(
        `accept in dry-run: the receipt rules list its domains (${settings.ruleRecipients.flat().slice(0, 5).join(', ')}${settings.ruleRecipients.flat().length > 5 ? ', …' : ''}), ` +
          'so SES refuses nothing and the function logs what accept would refuse; with mode: enforce they list accept itself.',
      );
    }
    if (props.recipients !== undefined) {
      warn('recipients-ignored', "recipients is ignored: the policy has accept, and the receipt rules list what it compiles to (a domain-wide recipient would make SES take every address again).");
    }
    if (settings.existingRuleSet) {
      warn(
        'accept-existing-rule-set',
        `accept: SES refuses an address only if no rule of the active rule set lists it. The other rules of rule set ${settings.ruleSetName} must not list the ` +
          'accepted domains (example.com, .example.com) or any address accept leaves out, or SES takes those addresses and the function counts them as Refused.',
      );
      if (settings.ruleRecipients.length > 1 && settings.actions.length === 0) {
        warn(
          'several-rules-without-actions',
          `accept needs ${settings.ruleRecipients.length} receipt rules, so the function stops only its own rule (STOP_RULE): rules after them in ${settings.ruleSetName} also run for mail it bounced. ` +
            'Give the delivery actions as the actions prop instead of a later rule.',
        );
      }
    }
  }
}
