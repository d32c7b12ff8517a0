import { SesBouncerError } from '../lambda/core/errors.js';

/** Where a command writes: lines, without their newline. Injected so tests run commands in-process. */
export interface CliIo {
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
}

/** A mistake in the command line itself: printed with the usage hint, exit 2, never a stack trace. */
export class UsageError extends SesBouncerError {
  override readonly name = 'UsageError';
}

export const ExitCode = { Ok: 0, Failed: 1, Usage: 2 } as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
