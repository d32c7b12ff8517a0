import { Duration, type RemovalPolicy, Token } from 'aws-cdk-lib';
import type * as logs from 'aws-cdk-lib/aws-logs';
import type * as ses from 'aws-cdk-lib/aws-ses';
import type * as sns from 'aws-cdk-lib/aws-sns';
import { PACING_MARGIN } from '../lambda/app/pacer.js';
import { attemptReserveMs } from '../lambda/app/time-budget.js';
import { acceptRuleRecipients, SES_NAME, SES_RECEIVING_QUOTAS, splitIntoRules, type AcceptSet } from '../lambda/core/ses-recipients.js';
import { SesBouncerConfigError } from './errors.js';

export interface SesBouncerProps {
  /**
   * Envelope recipients the receipt rule matches: addresses (`user@example.com`), domains
   * (`example.com`) or subdomains at any depth (`.example.com`), as SES receipt rules take
   * them, at most 100. Required, and non-empty, unless the policy has `accept`: a rule without
   * recipients would take the mail of every verified domain. With `accept`, the rules list what
   * `accept` compiles to, and this prop is ignored (with a warning), so that no domain-wide
   * recipient can make SES take every address again (README "Refusing at SMTP time").
   * @default - compiled from the policy's `accept`; required without it
   */
  readonly recipients?: readonly string[];

  /**
   * SES actions that deliver the mail, run in each of the bouncer's receipt rules after its
   * Lambda action. They run for the recipients of that rule: an S3 action, SNS, WorkMail… When the
   * function bounces or drops every recipient, it stops the rule (STOP_RULE_SET with one rule,
   * STOP_RULE with several) and these actions do not run. Give them here, not in a later rule,
   * when `accept` needs several rules: each rule then stops only itself (README "Several rules").
   * At most 9 (SES takes 10 actions per rule; the Lambda action is one).
   * @default - none: deliver with rules after the bouncer's
   */
  readonly actions?: readonly ses.IReceiptRuleAction[];

  /**
   * Path of the policy file (YAML, or JSON by its `.json` extension), relative to the current
   * directory (where `cdk` runs, the folder of `cdk.json`); its list files are relative to it.
   * Validated at synth by the handlers' own validator; an invalid policy fails synthesis naming
   * the file and every problem.
   * The compiled, self-contained policy is bundled into the receipt function as `policy.json`.
   */
  readonly policy: string;

  /**
   * Name of the receipt rule set that holds the rule.
   * @default 'ses-bouncer'
   */
  readonly ruleSetName?: string;

  /**
   * Whether `ruleSetName` names a rule set that already exists (the rule is added to it) rather
   * than one this construct creates.
   * @default false - a new rule set named `ruleSetName` is created
   */
  readonly existingRuleSet?: boolean;

  /**
   * Make the rule set the account's active one (SES has one per account and region), with a
   * custom resource. If it already is, nothing changes, now or on delete. If another set is
   * active, deployment fails naming it, unless `displaceActiveRuleSet` says otherwise. On delete,
   * the set that was active before is restored, if the construct's set is still the active one.
   * @default false - activate it yourself (README "Deploying": the one command that does it safely)
   */
  readonly activateRuleSet?: boolean;

  /**
   * With `activateRuleSet`: activate the rule set even when another one is active. Every rule of
   * that other set then stops running (its deliveries to S3, SNS, WorkMail, Lambda…), until the
   * stack is deleted and it is restored.
   * @default false - refuse, naming the active set
   */
  readonly displaceActiveRuleSet?: boolean;

  /**
   * Name of the receipt rule.
   * @default 'ses-bouncer'
   */
  readonly ruleName?: string;

  /**
   * Name of an existing rule in the rule set after which the rule is placed.
   * @default - the rule is placed first in the rule set
   */
  readonly after?: string;

  /**
   * Whether the rule requires TLS from the sending server.
   * @default ses.TlsPolicy.OPTIONAL
   */
  readonly tlsPolicy?: ses.TlsPolicy;

  /**
   * SendBounce calls per second (SEND_RATE_PER_SECOND of the delivery function).
   * @default 1 - the SES SendBounce limit
   */
  readonly sendRatePerSecond?: number;

  /**
   * ARN of the SES identity bounces are sent from; the only resource `ses:SendBounce` is granted on.
   * @default - the policy's `bounce.senderArn`, else
   *   `arn:${Partition}:ses:${Region}:${Account}:identity/<domain of the policy's bounce.sender>`
   */
  readonly bounceIdentityArn?: string;

  /**
   * E-mail address subscribed to the alarm topic.
   * @default - no subscription
   */
  readonly alarmEmail?: string;

  /**
   * SNS topic the alarms notify. An existing topic must let CloudWatch publish to it (and, if
   * encrypted, use its key): the construct cannot change the policies of a topic it did not create.
   * @default - a KMS-encrypted topic is created when `alarmEmail` is set; otherwise alarms have no action
   */
  readonly alarmTopic?: sns.ITopic;

  /**
   * Removal policy of the ledger table.
   * @default RemovalPolicy.RETAIN
   */
  readonly tableRemovalPolicy?: RemovalPolicy;

  /**
   * Timeout of the receipt function; must be below SES's 30 s deadline.
   * @default Duration.seconds(10)
   */
  readonly receiptTimeout?: Duration;

  /**
   * Timeout of the delivery function; long enough for one delivery attempt at `sendRatePerSecond`
   * (33 s at 1/s). The queue's visibility timeout is six times this, and its redrive policy
   * allows more receives than fit in the 24 h SendBounce window, so that only the delivery
   * function dead-letters a job, once the job's own attempts are spent (docs/delivery.md).
   * @default Duration.seconds(60)
   */
  readonly deliveryTimeout?: Duration;

  /**
   * Retention of the functions' log groups.
   * @default logs.RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Create a CloudWatch dashboard of the pipeline.
   * @default true
   */
  readonly dashboard?: boolean;
}

/** The props with their defaults applied, once validated. */
export interface Settings {
  readonly recipients: readonly string[];
  /** The recipients of each receipt rule, in rule order: `recipients`, or what `accept` compiles to cut at SES's per-rule quota. */
  readonly ruleRecipients: readonly (readonly string[])[];
  readonly actions: readonly ses.IReceiptRuleAction[];
  readonly ruleSetName: string;
  readonly ruleName: string;
  readonly existingRuleSet: boolean;
  readonly activateRuleSet: boolean;
  readonly displaceActiveRuleSet: boolean;
  readonly sendRatePerSecond: number;
  readonly receiptTimeout: Duration;
  readonly deliveryTimeout: Duration;
}

/** SES gives a RequestResponse Lambda action 30 s to answer (SES Developer Guide, "Invoke Lambda function action"). */
const SES_LAMBDA_DEADLINE = Duration.seconds(30);
/** Lambda's longest timeout. */
const LAMBDA_MAX_TIMEOUT = Duration.minutes(15);
const { recipientsPerRule: MAX_RULE_RECIPIENTS, actionsPerRule: MAX_RULE_ACTIONS } = SES_RECEIVING_QUOTAS;
/**
 * CloudFormation takes a template of at most 1 MB from S3 (CloudFormation User Guide, "Quotas":
 * template body size; CDK checks the same 1,000,000 bytes). The rules of a large `accept` are
 * most of it: their recipients (quoted, comma-separated; indented, each on a line of its own)
 * plus what each rule adds, beside a fixed part (the other resources, under 20 KB unindented;
 * 40 KB of margin). Measured: 20,000 recipients of 33 characters take 832 KB unindented and
 * 1,055 KB indented.
 */
const TEMPLATE_BODY_MAX_BYTES = 1_000_000;
const TEMPLATE_FIXED_BYTES = 40_000;
const TEMPLATE = { unindented: { perRecipient: 3, perRule: 600 }, indented: { perRecipient: 12, perRule: 1_500 } } as const;

/** The bytes the receipt rules add to the template, about. */
function ruleTemplateBytes(ruleRecipients: readonly (readonly string[])[], indented: boolean): number {
  const { perRecipient, perRule } = TEMPLATE[indented ? 'indented' : 'unindented'];
  return ruleRecipients.reduce((sum, rule) => sum + perRule + rule.reduce((bytes, r) => bytes + Buffer.byteLength(r) + perRecipient, 0), 0);
}

/** What validating the props needs to know besides them. */
export interface ValidationContext {
  /** The policy's `accept`, validated and within SES's rule-set quota: the rules list it instead of `recipients`. */
  readonly accept?: AcceptSet;
  /** The policy is in dry-run: with `accept`, the rules list its domains (SES refuses nothing). */
  readonly dryRun?: boolean;
  /** The stack writes its template indented (CDK's default; `suppressTemplateIndentation` turns it off). @default true */
  readonly indentedTemplate?: boolean;
}

const RECIPIENT = /^[^\s@]*@?[^\s@]+$/;

/** One check of the props: the problem, naming the prop, or undefined. */
type Rule = (props: SesBouncerProps, settings: Settings, context: ValidationContext) => string | undefined | readonly string[];

const RULES: readonly Rule[] = [
  (p, _s, { accept }) =>
    accept === undefined && (!Array.isArray(p.recipients) || p.recipients.length === 0)
      ? "recipients: at least one recipient is required (a receipt rule without recipients matches every verified domain), or the policy's accept"
      : undefined,
  (p, _s, { accept }) =>
    accept === undefined && Array.isArray(p.recipients) && p.recipients.length > MAX_RULE_RECIPIENTS
      ? `recipients: at most ${MAX_RULE_RECIPIENTS} per receipt rule (SES service quotas), got ${p.recipients.length}; for more, list them in the policy's accept`
      : undefined,
  (p, _s, { accept }) =>
    (accept === undefined && Array.isArray(p.recipients) ? (p.recipients as readonly unknown[]) : []).flatMap((r, i) =>
      typeof r !== 'string' || !RECIPIENT.test(r) || r.trim() === '' || r === '.' ? [`recipients[${i}]: not an address, domain or .subdomain: ${JSON.stringify(r)}`] : [],
    ),
  (_p, s, { accept, indentedTemplate = true }) => {
    if (accept === undefined) return undefined;
    const bytes = (indented: boolean) => ruleTemplateBytes(s.ruleRecipients, indented) + TEMPLATE_FIXED_BYTES;
    const count = s.ruleRecipients.reduce((sum, rule) => sum + rule.length, 0);
    const over = `over its ${TEMPLATE_BODY_MAX_BYTES / 1_000_000} MB quota (CloudFormation quotas)`;
    if (bytes(false) > TEMPLATE_BODY_MAX_BYTES) {
      return `policy: the ${count} receipt rule recipients accept compiles to take about ${Math.round(bytes(false) / 1000)} KB of the CloudFormation template, ${over}: accept whole domains (*@domain) where you can`;
    }
    return indentedTemplate && bytes(true) > TEMPLATE_BODY_MAX_BYTES
      ? `policy: the ${count} receipt rule recipients accept compiles to take about ${Math.round(bytes(true) / 1000)} KB of the indented CloudFormation template, ${over}: ` +
          'set suppressTemplateIndentation: true on the stack (about ' + `${Math.round(bytes(false) / 1000)} KB then), or accept whole domains where you can`
      : undefined;
  },
  (p) =>
    p.actions !== undefined && (!Array.isArray(p.actions) || p.actions.length > MAX_RULE_ACTIONS - 1)
      ? `actions: at most ${MAX_RULE_ACTIONS - 1} (SES takes ${MAX_RULE_ACTIONS} actions per receipt rule, and the bouncer's Lambda action is one), got ${Array.isArray(p.actions) ? p.actions.length : JSON.stringify(p.actions)}`
      : undefined,
  (_p, s) => {
    // The rules after the first are named ruleName-2, ruleName-3…: the longest must still be an SES name.
    const longest = s.ruleRecipients.length > 1 ? `${s.ruleName}-${s.ruleRecipients.length}` : s.ruleName;
    return longest !== s.ruleName && SES_NAME.test(s.ruleName) && !SES_NAME.test(longest)
      ? `ruleName: ${JSON.stringify(s.ruleName)} leaves no room for the names of the ${s.ruleRecipients.length} rules accept needs (${longest} is over 64 characters)`
      : undefined;
  },
  (p, s) =>
    ([['ruleSetName', s.ruleSetName], ['ruleName', s.ruleName], ['after', p.after]] as const).flatMap(([prop, name]) =>
      name !== undefined && !SES_NAME.test(name)
        ? [`${prop}: ${JSON.stringify(name)} is not an SES name (letters, digits, '.', '_', '-'; starts and ends with a letter or digit; at most 64)`]
        : [],
    ),
  (p, s) => (p.after !== undefined && p.after === s.ruleName ? 'after: cannot be the rule itself' : undefined),
  (p) => (p.displaceActiveRuleSet === true && p.activateRuleSet !== true ? 'displaceActiveRuleSet: only means something with activateRuleSet: true' : undefined),
  (_p, s) => (!Number.isFinite(s.sendRatePerSecond) || s.sendRatePerSecond <= 0 ? `sendRatePerSecond: must be a positive number, got ${s.sendRatePerSecond}` : undefined),
  (_p, s) =>
    !s.receiptTimeout.isUnresolved() && s.receiptTimeout.toMilliseconds() >= SES_LAMBDA_DEADLINE.toMilliseconds()
      ? `receiptTimeout: must be below SES's 30 s deadline for RequestResponse, got ${s.receiptTimeout.toHumanString()}`
      : undefined,
  (_p, s) => {
    // One attempt (claim, the pacer's wait, one SendBounce, recording) must fit in an invocation,
    // or every job would be handed back until it expires (docs/delivery.md "Time").
    const shortest = shortestDeliveryTimeoutSeconds(s.sendRatePerSecond);
    const seconds = s.deliveryTimeout.isUnresolved() ? undefined : s.deliveryTimeout.toSeconds();
    return seconds !== undefined && (seconds < shortest || seconds > LAMBDA_MAX_TIMEOUT.toSeconds())
      ? `deliveryTimeout: must be between ${shortest} s (one delivery attempt at ${s.sendRatePerSecond} SendBounce/s must fit) and 15 min, got ${s.deliveryTimeout.toHumanString()}`
      : undefined;
  },
  (p) =>
    p.alarmEmail !== undefined && !Token.isUnresolved(p.alarmEmail) && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(p.alarmEmail)
      ? `alarmEmail: not an e-mail address: ${JSON.stringify(p.alarmEmail)}`
      : undefined,
  (p) =>
    p.bounceIdentityArn !== undefined && !Token.isUnresolved(p.bounceIdentityArn) && !/^arn:[^:]+:ses:[^:]*:\d{12}:identity\/.+$/.test(p.bounceIdentityArn)
      ? `bounceIdentityArn: not an SES identity ARN: ${JSON.stringify(p.bounceIdentityArn)}`
      : undefined,
];

/** The shortest delivery timeout that holds one attempt at `ratePerSecond` (at least Lambda's 10 s floor of usefulness). */
function shortestDeliveryTimeoutSeconds(ratePerSecond: number): number {
  if (!Number.isFinite(ratePerSecond) || ratePerSecond <= 0) return 10;
  return Math.max(10, Math.ceil((attemptReserveMs((1000 / ratePerSecond) * (1 + PACING_MARGIN)) + 5_000) / 1000));
}

/** Applies the defaults and checks every rule; all problems in one error, each naming its prop. */
export function validateProps(props: SesBouncerProps, context: ValidationContext = {}): Settings {
  // Array.isArray: a JavaScript caller may pass anything; the rules above name what is wrong.
  const recipients = Array.isArray(props.recipients) ? [...(props.recipients as readonly string[])] : [];
  const { accept } = context;
  const settings: Settings = {
    recipients,
    ruleRecipients: accept !== undefined ? splitIntoRules(acceptRuleRecipients(accept, context.dryRun === true)) : [recipients],
    actions: Array.isArray(props.actions) ? [...(props.actions as readonly ses.IReceiptRuleAction[])] : [],
    ruleSetName: props.ruleSetName ?? 'ses-bouncer',
    ruleName: props.ruleName ?? 'ses-bouncer',
    existingRuleSet: props.existingRuleSet ?? false,
    activateRuleSet: props.activateRuleSet ?? false,
    displaceActiveRuleSet: props.displaceActiveRuleSet ?? false,
    sendRatePerSecond: props.sendRatePerSecond ?? 1,
    receiptTimeout: props.receiptTimeout ?? Duration.seconds(10),
    deliveryTimeout: props.deliveryTimeout ?? Duration.seconds(60),
  };
  const problems = RULES.flatMap((rule) => {
    const found = rule(props, settings, context);
    return found === undefined ? [] : typeof found === 'string' ? [found] : [...found];
  });
  if (problems.length > 0) throw new SesBouncerConfigError('SesBouncer: invalid props', problems);
  return settings;
}
