// SES email receiving, as far as it decides who gets a message: a thin model of the documented
// rule-set evaluation (SES Developer Guide, "Receipt rules" and "Invoke Lambda function action"),
// to run synthesized receipt rules against the real receipt use-case.
//   - RCPT TO: an address no enabled rule lists is refused with 550 5.1.1, recipient by
//     recipient; a message left with no recipient is not accepted at all.
//   - Each rule, in order, runs for the accepted recipients it lists (`receipt.recipients` of
//     its Lambda event), its actions in order. A RequestResponse Lambda action answers
//     CONTINUE (next action), STOP_RULE (no further action of this rule; later rules still
//     run) or STOP_RULE_SET (no further action and no further rule).
import { parseAddress } from '../../lambda/core/address.js';
import { parseRuleRecipient, SesRecipientMatcher } from '../../lambda/core/ses-recipients.js';

export interface SimulatedRule {
  readonly name: string;
  readonly recipients: readonly string[];
  /** `LambdaAction` invokes the function; any other action delivers (S3, SNS, WorkMail…). */
  readonly actions: readonly { readonly kind: 'lambda' | 'deliver'; readonly label: string }[];
}

export interface Delivery {
  readonly rule: string;
  readonly action: string;
  readonly recipients: readonly string[];
}

export interface SmtpOutcome {
  /** Answered 550 5.1.1 at RCPT TO. */
  readonly refused: readonly string[];
  /** Each Lambda invocation: the rule and the recipients it was given. */
  readonly invocations: readonly { readonly rule: string; readonly recipients: readonly string[] }[];
  readonly deliveries: readonly Delivery[];
}

export type LambdaInvoke = (recipients: readonly string[], rule: string) => Promise<{ disposition: string }>;

export class SimulatedRuleSet {
  private readonly matchers: SesRecipientMatcher[];

  constructor(private readonly rules: readonly SimulatedRule[]) {
    this.matchers = rules.map((rule) => new SesRecipientMatcher(rule.recipients.map(parseRuleRecipient)));
  }

  /** The rules of a synthesized template (rulesInOrder), their actions by kind. */
  static fromTemplate(rules: readonly { name: string; recipients: string[]; actions: any[] }[]): SimulatedRuleSet {
    return new SimulatedRuleSet(
      rules.map((rule) => ({
        name: rule.name,
        recipients: rule.recipients,
        actions: rule.actions.map((action) => {
          const key = Object.keys(action)[0]!;
          return { kind: key === 'LambdaAction' ? ('lambda' as const) : ('deliver' as const), label: key };
        }),
      })),
    );
  }

  async receive(rcptTo: readonly string[], invoke: LambdaInvoke): Promise<SmtpOutcome> {
    const listedBy = (address: string) => this.matchers.map((matcher, index) => (matcher.accepts(parseAddress(address)) ? index : -1)).filter((i) => i >= 0);
    const refused = rcptTo.filter((address) => listedBy(address).length === 0);
    const accepted = rcptTo.filter((address) => listedBy(address).length > 0);
    const invocations: { rule: string; recipients: readonly string[] }[] = [];
    const deliveries: Delivery[] = [];
    if (accepted.length === 0) return { refused, invocations, deliveries };
    ruleSet: for (const [index, rule] of this.rules.entries()) {
      const recipients = accepted.filter((address) => this.matchers[index]!.accepts(parseAddress(address)));
      if (recipients.length === 0) continue;
      for (const action of rule.actions) {
        if (action.kind === 'deliver') {
          deliveries.push({ rule: rule.name, action: action.label, recipients });
          continue;
        }
        invocations.push({ rule: rule.name, recipients });
        const { disposition } = await invoke(recipients, rule.name);
        if (disposition === 'STOP_RULE') break;
        if (disposition === 'STOP_RULE_SET') break ruleSet;
      }
    }
    return { refused, invocations, deliveries };
  }
}
