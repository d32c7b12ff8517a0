import type { RE2JS } from 're2js';
import { SesBouncerError } from './errors.js';

/** A compiled RE2 expression: linear time on any input, so a hostile 40 KB subject cannot stall a decision. */
export interface SafeRegex {
  readonly source: string;
  test(value: string): boolean;
}

// The RE2 engine (re2js, 147 KB) is installed by ./re2.js, which the policy loaders import only
// when a policy has regular expressions: most receipt functions never load it at cold start.
let engine: typeof RE2JS | undefined;

export function installRegexEngine(re2: typeof RE2JS): void {
  engine ??= re2;
}

function re2(): typeof RE2JS {
  if (engine === undefined) throw new SesBouncerError('the RE2 engine is not loaded: import lambda/core/re2.js first');
  return engine;
}

/**
 * Compiles RE2 syntax (SPEC §3): matches anywhere unless anchored, case-sensitive unless the
 * expression starts with (?i), which RE2 itself understands. Throws RE2JS's syntax error.
 */
export function compileRegex(source: string): SafeRegex {
  const re = re2().compile(source);
  return { source, test: (value) => re.test(value) };
}

/** undefined when valid, else the reason RE2 gives. */
export function regexProblem(source: string): string | undefined {
  const compiler = re2();
  try {
    compiler.compile(source);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
