import { resolve } from 'node:path';
import { SynthPolicyError, type SynthPolicy } from './synth-policy-types.js';
import { formatIssue, PolicyError } from '../lambda/core/errors.js';
import { loadPolicyFile, type CompiledPolicy } from '../lambda/app/policy-loader.js';

/** The policy as loaded at synth, with its compiled form (not part of the package's API: the compiled form is the handlers'). */
export interface LoadedSynthPolicy extends SynthPolicy {
  readonly compiled: CompiledPolicy;
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
