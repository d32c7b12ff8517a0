import { RE2JS } from 're2js';

/** A compiled RE2 expression: linear time on any input, so a hostile 40 KB subject cannot stall a decision. */
export interface SafeRegex {
  readonly source: string;
  test(value: string): boolean;
}

/**
 * Compiles RE2 syntax (SPEC §3): matches anywhere unless anchored, case-sensitive unless the
 * expression starts with (?i), which RE2 itself understands. Throws RE2JS's syntax error.
 */
export function compileRegex(source: string): SafeRegex {
  const re = RE2JS.compile(source);
  return { source, test: (value) => re.test(value) };
}

/** undefined when valid, else the reason RE2 gives. */
export function regexProblem(source: string): string | undefined {
  try {
    RE2JS.compile(source);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}
