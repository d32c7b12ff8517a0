// The public face of loading the policy at synth (lib/synth-policy.ts): what the construct says
// of it and what it throws. Kept apart from the loader so that the package's declarations do not
// carry the compiled policy's types, nor their zod types, into a user's compile.
import { SesBouncerConfigError } from './errors.js';

/** The policy as validated at synth: the file, and the self-contained JSON that goes into the receipt bundle. */
export interface SynthPolicy {
  /** Absolute path of the policy file the user named. */
  readonly file: string;
  /** The validated policy as JSON, every list inlined, loadable without the source tree: the receipt asset's `policy.json`. */
  readonly json: string;
}

/** Thrown at synth for an invalid policy: names the file and every problem as `path: message`, one a line. */
export class SynthPolicyError extends SesBouncerConfigError {
  constructor(
    readonly file: string,
    problems: readonly string[],
  ) {
    super(`SesBouncer: invalid policy ${file}`, problems);
  }
}
