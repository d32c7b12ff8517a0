import { DescribeActiveReceiptRuleSetCommand, type SESClient } from '@aws-sdk/client-ses';
import type { RuleSetReader } from '../app/ports.js';
import type { ActiveRuleSet } from '../core/rule-set-audit.js';

/** The active receipt rule set, read with DescribeActiveReceiptRuleSet (no Metadata: none is active). */
export class SesRuleSetReader implements RuleSetReader {
  constructor(private readonly client: SESClient) {}

  async active(signal: AbortSignal): Promise<ActiveRuleSet | undefined> {
    const output = await this.client.send(new DescribeActiveReceiptRuleSetCommand({}), { abortSignal: signal });
    if (output.Metadata?.Name === undefined) return undefined;
    return {
      name: output.Metadata.Name,
      rules: (output.Rules ?? []).map((rule) => ({ name: rule.Name ?? '', enabled: rule.Enabled === true, recipients: rule.Recipients ?? [] })),
    };
  }
}
