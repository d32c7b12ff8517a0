import { SesBouncerError } from '../lambda/core/errors.js';

/** A setting of the construct or of cdk.json context is wrong: a user's mistake, reported without a stack trace by bin/app.ts. */
export class SesBouncerConfigError extends SesBouncerError {
  override readonly name = 'SesBouncerConfigError';
  constructor(
    readonly subject: string,
    readonly problems: readonly string[],
  ) {
    super(`${subject}:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  }
}
