import { resolve } from 'node:path';
import { SesBouncerConfigError } from './errors.js';
import { formatIssue, PolicyError } from '../lambda/core/errors.js';
import { loadPolicyFile, type CompiledPolicy } from '../lambda/app/policy-loader.js';

/** The policy as validated at synth: the file, and the self-contained JSON that goes into the receipt bundle. */
export interface SynthPolicy {
  /** Absolute path of the policy file the user named. */
  readonly file: string;
  /** The validated policy as JSON, every list inlined, loadable without the source tree: the receipt asset's `policy.json`. */
  readonly json: string;
}

/** The policy as loaded at synth, with its compiled form (not part of the package's API: the compiled form is the handlers'). */
export interface LoadedSynthPolicy extends SynthPolicy {
  readonly compiled: CompiledPolicy;
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

/**
 * Validates and compiles a policy file with the same validator the handlers use, and gives its
 * self-contained JSON form.
 */
export function loadSynthPolicy(file: string): LoadedSynthPolicy {
  const absolute = resolve(file);
  let compiled: CompiledPolicy;
  try {
    compiled = loadPolicyFile(absolute);
  } catch (error) {
    if (error instanceof PolicyError) throw new SynthPolicyError(absolute, error.issues.map(formatIssue));
    throw error;
  }
  return { file: absolute, compiled, json: JSON.stringify(compiled.document) };
}
