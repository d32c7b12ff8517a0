import { SesBouncerError, type PolicyIssue } from './errors.js';
import { formatPath } from './issues.js';
import { hasControlCharacters } from './text.js';

// docs/policy.md "Strict loading", the loader as strict as the decisions: limits on the shape of a policy file that
// hold before its content is validated, shared by the JSON scanner (strict-json.ts), the YAML
// reader (strict-yaml.ts) and the compiler. Everything here is iterative: a hostile file cannot
// exhaust the call stack.

/** No policy needs more: `rules[0].when.any[0].not.all[0]...` nests two levels per combinator. */
export const MAX_NESTING_DEPTH = 32;

/**
 * Keys that name an object prototype member. A JavaScript object treats `__proto__` as its
 * prototype, so `header: {"__proto__": "^yes$"}` would silently become `header: {}`; the others
 * shadow methods that code or libraries may call on the object. None is a meaningful policy key.
 */
export const RESERVED_KEYS: ReadonlySet<string> = new Set([
  '__proto__',
  'constructor',
  'prototype',
  '__defineGetter__',
  '__defineSetter__',
  '__lookupGetter__',
  '__lookupSetter__',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
  'toLocaleString',
  'toString',
  'valueOf',
]);

export const RESERVED_KEY_MESSAGE = 'not allowed as a key: it names an object prototype member';
export const DUPLICATE_KEY_MESSAGE = 'duplicate key';
export const TOO_DEEP_MESSAGE = `nested deeper than ${MAX_NESTING_DEPTH} levels`;
/** The last resort, should a parser overflow the call stack despite the limit. */
export const STACK_OVERFLOW_MESSAGE = `the policy is nested too deeply to read (the limit is ${MAX_NESTING_DEPTH} levels)`;

/**
 * How many values a parsed policy may hold, counting a YAML alias as often as it is used. JSON
 * and alias-free YAML spend at least one character per value, so only aliases can reach this;
 * it keeps validation linear in the size of the file (the `yaml` package's own alias limit
 * still allows a hundredfold expansion).
 */
export function maxPolicyValues(textLength: number): number {
  return Math.max(100_000, 2 * textLength);
}

/** Thrown by the policy text readers: the file's structure is unsound; each issue names its path. */
export class PolicySyntaxError extends SesBouncerError {
  override readonly name = 'PolicySyntaxError';
  constructor(readonly issues: readonly PolicyIssue[]) {
    super(issues.map((issue) => `${issue.path}: ${issue.message}`).join('\n'));
  }
}

export interface StructureScan {
  /** Problems in document order. */
  readonly issues: PolicyIssue[];
  /** A problem that must stop validation here (nesting, a reserved key, alias expansion); control characters are not. */
  readonly fatal: boolean;
}

type Path = readonly PropertyKey[];

/**
 * Walks a parsed policy without recursion: nesting deeper than MAX_NESTING_DEPTH (also through
 * YAML aliases, which may even form a cycle), reserved keys, more than `maxValues` values, and
 * control characters in any string or key (docs/policy.md "What makes a policy invalid").
 */
export function scanStructure(root: unknown, maxValues: number): StructureScan {
  const issues: PolicyIssue[] = [];
  let fatal = false;
  let values = 0;
  const stack: Array<{ value: unknown; path: Path; depth: number }> = [{ value: root, path: [], depth: 0 }];
  while (stack.length > 0) {
    const { value, path, depth } = stack.pop()!;
    if (++values > maxValues) {
      issues.push({ path: formatPath(path), message: `YAML aliases expand the policy to more than ${maxValues} values` });
      return { issues, fatal: true };
    }
    if (typeof value === 'string') {
      if (hasControlCharacters(value)) issues.push({ path: formatPath(path), message: 'contains a control character (CR, LF, TAB or another)' });
      continue;
    }
    const children = childrenOf(value);
    if (children === undefined) continue;
    if (depth + 1 > MAX_NESTING_DEPTH) {
      issues.push({ path: formatPath(path), message: TOO_DEEP_MESSAGE });
      fatal = true;
      continue;
    }
    const next: Array<{ value: unknown; path: Path; depth: number }> = [];
    for (const [key, child] of children) {
      const childPath = [...path, key];
      if (typeof key === 'string' && RESERVED_KEYS.has(key)) {
        issues.push({ path: formatPath(childPath), message: RESERVED_KEY_MESSAGE });
        fatal = true;
      } else if (typeof key === 'string' && hasControlCharacters(key)) {
        issues.push({ path: formatPath(childPath), message: 'the key contains a control character' });
      } else {
        next.push({ value: child, path: childPath, depth: depth + 1 });
      }
    }
    for (let index = next.length - 1; index >= 0; index--) stack.push(next[index]!);
  }
  return { issues, fatal };
}

/** The entries of an array or a plain object; undefined for anything else (scalars, and the Map, Set or Date a YAML tag may make). */
function childrenOf(value: unknown): Array<[PropertyKey, unknown]> | undefined {
  if (Array.isArray(value)) return value.map((item, index) => [index, item]);
  if (value === null || typeof value !== 'object') return undefined;
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return undefined;
  return Object.keys(value).map((key) => [key, (value as Record<string, unknown>)[key]]);
}
