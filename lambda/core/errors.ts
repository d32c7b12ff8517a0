/** Root of every failure ses-bouncer raises; normal outcomes (guarded, already bounced) are values, not errors. */
export class SesBouncerError extends Error {
  override readonly name: string = 'SesBouncerError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** One problem found in a policy file, named by its path (`rules[2].when.recipient[0]`). */
export interface PolicyIssue {
  readonly path: string;
  readonly message: string;
}

/** The policy file is unreadable or invalid; `issues` lists every problem by path. */
export class PolicyError extends SesBouncerError {
  override readonly name = 'PolicyError';
  constructor(
    readonly file: string,
    readonly issues: readonly PolicyIssue[],
    options?: { cause?: unknown },
  ) {
    super(`invalid policy ${file}:\n${issues.map(formatIssue).join('\n')}`, options);
  }
}

/** The handler's environment is missing or has a malformed setting. */
export class ConfigError extends SesBouncerError {
  override readonly name = 'ConfigError';
}

/** DynamoDB did not answer as expected (unreachable, throttled, malformed item). */
export class LedgerError extends SesBouncerError {
  override readonly name = 'LedgerError';
}

/** The bounce queue refused or lost a message. */
export class QueueError extends SesBouncerError {
  override readonly name = 'QueueError';
}

export function formatIssue(issue: PolicyIssue): string {
  return issue.path ? `${issue.path}: ${issue.message}` : issue.message;
}
