// Policy regular expressions are RE2 syntax (docs/policy.md "Regular expressions"): linear time
// on any input, so a hostile 40 KB subject cannot stall a decision. The engine (re2js, 147 KB)
// is passed in by whoever compiles a policy (lambda/app/policy-loader.ts): the receipt function
// loads it only for a policy that has regular expressions.

/** What a policy needs of an RE2 engine; `RE2JS` from the re2js package is one. */
export interface RegexEngine {
  compile(source: string): { test(value: string): boolean };
}

/** A compiled RE2 expression. */
export interface SafeRegex {
  readonly source: string;
  test(value: string): boolean;
}

/** Matches anywhere unless anchored, case-sensitive unless it starts with (?i), which RE2 itself understands. Throws the engine's syntax error. */
export function compileRegex(engine: RegexEngine, source: string): SafeRegex {
  const re = engine.compile(source);
  return { source, test: (value) => re.test(value) };
}

/** The engine, compiling each source once: a policy's checks and its compiler then share the work. */
export function compilingOnce(engine: RegexEngine): RegexEngine {
  const compiled = new Map<string, ReturnType<RegexEngine['compile']>>();
  return {
    compile(source) {
      let re = compiled.get(source);
      if (re === undefined) compiled.set(source, (re = engine.compile(source)));
      return re;
    },
  };
}

/** undefined when valid, else the reason the engine gives. */
export function regexProblem(engine: RegexEngine, source: string): string | undefined {
  try {
    engine.compile(source);
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

/** A regular expression in a policy, and where: `rules[0].when.any[1].subject`. */
export interface RegexSource {
  readonly path: readonly PropertyKey[];
  readonly source: string;
}

/**
 * Every regular expression of a policy value as read (before the schema: so that a syntax error
 * is reported with the schema's problems, and so that a loader knows whether to load the engine):
 * the `subject` and `header` values of the rules' conditions, however deeply nested. Iterative:
 * the value's nesting is bounded by the loader, but this need not rely on it.
 */
export function regexSources(raw: unknown): RegexSource[] {
  const rules = (raw as { rules?: unknown } | null | undefined)?.rules;
  if (!Array.isArray(rules)) return [];
  const found: RegexSource[] = [];
  const pending: { condition: unknown; path: PropertyKey[] }[] = rules.map((rule, i) => ({ condition: (rule as { when?: unknown } | null)?.when, path: ['rules', i, 'when'] }));
  while (pending.length > 0) {
    const { condition, path } = pending.shift()!;
    if (condition === null || typeof condition !== 'object' || Array.isArray(condition)) continue;
    const c = condition as Record<string, unknown>;
    if (typeof c.subject === 'string') found.push({ path: [...path, 'subject'], source: c.subject });
    if (c.header !== null && typeof c.header === 'object' && !Array.isArray(c.header)) {
      for (const [name, source] of Object.entries(c.header)) if (typeof source === 'string') found.push({ path: [...path, 'header', name], source });
    }
    for (const key of ['any', 'all'] as const) {
      const inner = c[key];
      if (Array.isArray(inner)) inner.forEach((condition, i) => pending.push({ condition, path: [...path, key, i] }));
    }
    if (c.not !== undefined) pending.push({ condition: c.not, path: [...path, 'not'] });
  }
  return found;
}
