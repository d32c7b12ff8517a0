import type * as z from 'zod/mini';

// Turning zod issues into the messages users read: every one names its path.

const GENERIC_MESSAGE = 'Invalid input';

/** `Records[0].ses.mail.messageId: required` (every issue, joined). Parse with `reportInput` for "required". */
export function describeZodError(error: z.core.$ZodError, prefix: readonly PropertyKey[] = []): string {
  return error.issues.map((issue) => `${formatPath([...prefix, ...issue.path])}: ${issueMessage(issue)}`).join('; ');
}

/** zod/mini ships no message texts ("Invalid input"): a schema's own message, else the words a user needs. */
export function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.message !== GENERIC_MESSAGE) return issue.message;
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined ? 'required' : `expected ${issue.expected}`;
    case 'invalid_value':
      return issue.values.length === 1 ? `must be ${JSON.stringify(issue.values[0])}` : `must be one of ${issue.values.join(', ')}`;
    case 'too_small':
      if (issue.origin === 'array' || issue.origin === 'string') return 'must not be empty';
      return issue.inclusive === false ? `must be more than ${issue.minimum}` : `must be at least ${issue.minimum}`;
    case 'too_big':
      return `must be at most ${issue.maximum}${issue.origin === 'string' ? ' characters' : ''}`;
    default:
      return issue.message;
  }
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}
