import { formatIssue, loadPolicyFile, PolicyError, type CompiledPolicy } from '../lambda/core/index.js';
import { unreachableRecipientPatterns } from '../lambda/core/reach.js';
import { ExitCode, type CliIo } from './io.js';

/**
 * `ses-bouncer check POLICY`: a one-line summary and exit 0, or one `path: message` line per
 * problem and exit 2. With the receipt rule's `recipients`, a warning line (on stderr, exit
 * still 0) for each rule pattern SES would never pass to the function.
 */
export function runCheck(file: string, io: CliIo, recipients?: readonly string[]): ExitCode {
  const policy = loadPolicyOrReport(file, io.stdout);
  if (policy === undefined) return ExitCode.Usage;
  io.stdout(summarize(file, policy));
  for (const { path, pattern } of recipients === undefined ? [] : unreachableRecipientPatterns(policy.document, recipients)) {
    io.stderr(`warning: ${path}: ${pattern} can never match: no receipt rule recipient (${recipients!.join(', ')}) lets SES pass such an address to the function`);
  }
  return ExitCode.Ok;
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
