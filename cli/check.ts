import { formatIssue, PolicyError, type CompiledPolicy } from '../lambda/core/index.js';
import { loadPolicyFile } from '../lambda/app/policy-loader.js';
import { unreachableRecipientPatterns } from '../lambda/core/reach.js';
import { acceptRuleRecipients, SES_RECEIVING_QUOTAS, type AcceptSet } from '../lambda/core/ses-recipients.js';
import { ExitCode, type CliIo } from './io.js';

/**
 * `ses-bouncer check POLICY`: a one-line summary and exit 0, or one `path: message` line per
 * problem and exit 2 (an `accept` over SES's rule-set quota is one). With `accept`, a second
 * line: what it compiles to. With the receipt rule's recipients (`--recipients`, or those
 * `accept` compiles to), a warning line (on stderr, exit still 0) for each rule pattern SES
 * would never pass to the function.
 */
export function runCheck(file: string, io: CliIo, recipients?: readonly string[]): ExitCode {
  const policy = loadPolicyOrReport(file, io.stdout);
  if (policy === undefined) return ExitCode.Usage;
  io.stdout(summarize(file, policy));
  if (policy.accept !== undefined) {
    io.stdout(describeAccept(policy.accept));
    if (policy.mode === 'dry-run') {
      io.stdout(`accept in dry-run: the receipt rules list its domains (${policy.accept.dryRunRecipients.join(', ')}), so SES refuses nothing until mode: enforce`);
    }
    if (recipients !== undefined) io.stderr('warning: --recipients is ignored: with accept, the receipt rules list what accept compiles to');
  }
  // What the receipt rules would list, as the construct makes them (in dry-run, accept's domains).
  const ruleRecipients = policy.accept !== undefined ? acceptRuleRecipients(policy.accept, policy.mode === 'dry-run') : recipients;
  if (ruleRecipients === undefined) return ExitCode.Ok;
  const why = policy.accept ? 'accept takes no such address' : `no receipt rule recipient (${ruleRecipients.join(', ')}) lets SES pass such an address to the function`;
  for (const { path, pattern } of unreachableRecipientPatterns(policy.document, ruleRecipients)) io.stderr(`warning: ${path}: ${pattern} can never match: ${why}`);
  return ExitCode.Ok;
}

/** `accept: 3 addresses, 1 domain, 1 subdomain pattern → 5 receipt rule recipients in 1 receipt rule (…)`. */
function describeAccept(accept: AcceptSet): string {
  const { addresses, domains, subdomains, redundant } = accept.counts;
  const { recipientsPerRule, rulesPerRuleSet } = SES_RECEIVING_QUOTAS;
  return (
    `accept: ${plural(addresses, 'address', 'addresses')}, ${plural(domains, 'domain')}, ${plural(subdomains, 'subdomain pattern')}` +
    `${redundant > 0 ? ` (${redundant} repeated or covered by a domain, left out)` : ''}` +
    ` → ${plural(accept.ruleRecipients.length, 'receipt rule recipient')} in ${plural(accept.rulesNeeded, 'receipt rule')}` +
    ` (SES quotas: ${recipientsPerRule} recipients per rule, ${rulesPerRuleSet} rules per rule set); SES refuses every other address with 550 5.1.1`
  );
}

function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}

/** The policy, or undefined after printing each problem as `path: message` to `print`. */
export function loadPolicyOrReport(file: string, print: (line: string) => void): CompiledPolicy | undefined {
  try {
    return loadPolicyFile(file);
  } catch (error) {
    if (!(error instanceof PolicyError)) throw error;
    for (const issue of error.issues) print(formatIssue(issue));
    return undefined;
  }
}

function summarize(file: string, policy: CompiledPolicy): string {
  const counts = policy.rules.reduce<Record<string, number>>((acc, rule) => ({ ...acc, [rule.then]: (acc[rule.then] ?? 0) + 1 }), {});
  const ruleSummary = Object.entries(counts)
    .map(([action, count]) => `${count} ${action}`)
    .join(', ');
  const lists = Object.entries(policy.document.lists ?? {});
  const patterns = lists.reduce((sum, [, entries]) => sum + (Array.isArray(entries) ? entries.length : 0), 0);
  return (
    `${file}: valid; mode ${policy.mode}; ${policy.rules.length} rule${policy.rules.length === 1 ? '' : 's'}` +
    `${ruleSummary ? ` (${ruleSummary})` : ''}; ${lists.length} list${lists.length === 1 ? '' : 's'} (${patterns} patterns); default ${policy.default}`
  );
}
