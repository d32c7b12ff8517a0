/**
 * SES Lambda action dispositions (SES Developer Guide, "Invoke Lambda function action"): a
 * decision says STOP_RULE_SET or CONTINUE; a deployment of several receipt rules answers
 * STOP_RULE in place of STOP_RULE_SET, so that one rule never stops another (docs/refusal.md).
 */
export const Disposition = { StopRuleSet: 'STOP_RULE_SET', StopRule: 'STOP_RULE', Continue: 'CONTINUE' } as const;
export type Disposition = (typeof Disposition)[keyof typeof Disposition];
/** The two answers that stop: the deployment chooses which one stands for "nothing delivered". */
export const STOP_DISPOSITIONS = [Disposition.StopRuleSet, Disposition.StopRule] as const;
export type StopDisposition = (typeof STOP_DISPOSITIONS)[number];
