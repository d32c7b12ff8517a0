import { parsePolicy, type CompiledPolicy } from '../../lambda/app/policy-loader.js';
import { PolicyError, type PolicyIssue } from '../../lambda/core/errors.js';

export const BOUNCE_BLOCK = `
bounce:
  sender: mailer-daemon@example.com
  reportingMta: mx.example.com
`;

/** A policy from YAML text; list files come from `files`. */
export function policy(yaml: string, files: Record<string, string> = {}): CompiledPolicy {
  return parsePolicy(yaml, {
    fileName: 'policy.yaml',
    readListFile: (name) => {
      const content = files[name];
      if (content === undefined) throw Object.assign(new Error(`ENOENT: ${name}`), { code: 'ENOENT' });
      return content;
    },
  });
}

/** A policy with the bounce block and `version: 1` filled in, then `body`. */
export function policyWith(body: string, files: Record<string, string> = {}): CompiledPolicy {
  return policy(`version: 1\n${BOUNCE_BLOCK}\n${body}`, files);
}

/** The issues `load` reports for an invalid policy, as `path: message` lines; an error if it loads. */
export function issuesOf(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    if (error instanceof PolicyError) return error.issues.map((issue: PolicyIssue) => `${issue.path}: ${issue.message}`);
    throw error;
  }
  throw new Error('expected the policy to be invalid');
}

/** The issues an invalid policy reports, as `path: message` lines. */
export function policyIssues(yaml: string, files: Record<string, string> = {}): string[] {
  return issuesOf(() => policy(yaml, files));
}

export function issuesWith(body: string, files: Record<string, string> = {}): string[] {
  return policyIssues(`version: 1\n${BOUNCE_BLOCK}\n${body}`, files);
}
