import type { PolicyIssue } from './errors.js';
import { formatPath } from './issues.js';
import {
  DUPLICATE_KEY_MESSAGE,
  MAX_NESTING_DEPTH,
  PolicySyntaxError,
  RESERVED_KEY_MESSAGE,
  RESERVED_KEYS,
  TOO_DEEP_MESSAGE,
} from './policy-structure.js';

// A strict JSON reader for policy files (docs/policy.md "Strict loading"). JSON.parse lets the last of two equal keys win
// silently, turns a "__proto__" key into the object's prototype only when code later assigns it,
// and its callers recurse; this scanner accepts exactly the JSON grammar (RFC 8259) and reports,
// by path, every duplicate key, every key that names an object prototype member and every value
// nested deeper than MAX_NESTING_DEPTH. It keeps its own stack: no input can exhaust the call
// stack, and it runs in time linear in the text.

interface ObjectFrame {
  readonly kind: 'object';
  /** Undefined inside a value that is already reported (too deep): scanned for syntax only. */
  readonly value: Record<string, unknown> | undefined;
  readonly keys: Set<string> | undefined;
  /** The key whose value is being read, and whether that value is kept. */
  key: string;
  keep: boolean;
}

interface ArrayFrame {
  readonly kind: 'array';
  readonly value: unknown[] | undefined;
  index: number;
}

type Frame = ObjectFrame | ArrayFrame;

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

/** The value of a JSON text; throws PolicySyntaxError naming every structural problem (or the first syntax error). */
export function parseStrictJson(text: string): unknown {
  const issues: PolicyIssue[] = [];
  const stack: Frame[] = [];
  // The path of the value being read, while it is inside the depth limit.
  const path: PropertyKey[] = [];
  let i = 0;

  const fail = (what: string): never => {
    throw new PolicySyntaxError([{ path: '', message: `not valid JSON: ${what} (${where(text, i)})` }]);
  };
  const expected = (what: string): never => fail(`expected ${what}, found ${describe(text, i)}`);
  const skipWhitespace = (): void => {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else return;
    }
  };
  const readString = (): string => {
    const start = i;
    let j = i + 1;
    for (;;) {
      if (j >= text.length) {
        i = start;
        return fail('a string that is never closed');
      }
      const c = text.charCodeAt(j);
      if (c === 0x22) break;
      j += c === 0x5c ? 2 : 1;
    }
    i = j + 1;
    try {
      return JSON.parse(text.slice(start, j + 1)) as string;
    } catch {
      i = start;
      return fail('a malformed string (a bad escape or a raw control character)');
    }
  };
  const readKey = (frame: ObjectFrame): void => {
    skipWhitespace();
    if (text.charCodeAt(i) !== 0x22) expected('a key in double quotes');
    const key = readString();
    frame.key = key;
    frame.keep = true;
    if (frame.keys !== undefined) {
      const keyPath = formatPath([...path, key]);
      if (RESERVED_KEYS.has(key)) {
        issues.push({ path: keyPath, message: RESERVED_KEY_MESSAGE });
        frame.keep = false;
      } else if (frame.keys.has(key)) {
        issues.push({ path: keyPath, message: DUPLICATE_KEY_MESSAGE });
        frame.keep = false;
      }
      frame.keys.add(key);
    }
    skipWhitespace();
    if (text.charCodeAt(i) !== 0x3a) expected('":"');
    i++;
  };
  // Entering a member or an element: its path segment, while inside the depth limit.
  const enter = (frame: Frame): void => {
    if (frame.value !== undefined) path.push(frame.kind === 'object' ? frame.key : frame.index);
  };

  let root: unknown;
  value: for (;;) {
    // Read one value at i.
    skipWhitespace();
    const c = text.charCodeAt(i);
    let result: unknown;
    if (c === 0x7b || c === 0x5b) {
      const parent = stack[stack.length - 1];
      const building = parent === undefined || parent.value !== undefined;
      const tooDeep = building && stack.length + 1 > MAX_NESTING_DEPTH;
      if (tooDeep) issues.push({ path: formatPath(path), message: TOO_DEEP_MESSAGE });
      const build = building && !tooDeep;
      i++;
      skipWhitespace();
      if (c === 0x7b) {
        const frame: ObjectFrame = { kind: 'object', value: build ? {} : undefined, keys: build ? new Set() : undefined, key: '', keep: false };
        if (text.charCodeAt(i) === 0x7d) {
          i++;
          result = frame.value;
        } else {
          stack.push(frame);
          readKey(frame);
          enter(frame);
          continue value;
        }
      } else {
        const frame: ArrayFrame = { kind: 'array', value: build ? [] : undefined, index: 0 };
        if (text.charCodeAt(i) === 0x5d) {
          i++;
          result = frame.value;
        } else {
          stack.push(frame);
          enter(frame);
          continue value;
        }
      }
    } else if (c === 0x22) {
      result = readString();
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      NUMBER.lastIndex = i;
      const match = NUMBER.exec(text);
      if (match === null) expected('a value');
      i += match![0].length;
      result = Number(match![0]);
    } else if (text.startsWith('true', i)) {
      i += 4;
      result = true;
    } else if (text.startsWith('false', i)) {
      i += 5;
      result = false;
    } else if (text.startsWith('null', i)) {
      i += 4;
      result = null;
    } else {
      expected('a value');
    }

    // Store the value, then close every collection that ends here.
    for (;;) {
      const frame = stack[stack.length - 1];
      if (frame === undefined) {
        root = result;
        break value;
      }
      if (frame.value !== undefined) {
        if (frame.kind === 'object') {
          if (frame.keep) frame.value[frame.key] = result;
        } else {
          frame.value.push(result);
        }
        path.pop();
      }
      skipWhitespace();
      const next = text.charCodeAt(i);
      if (next === 0x2c) {
        i++;
        if (frame.kind === 'object') readKey(frame);
        else frame.index++;
        enter(frame);
        continue value;
      }
      if (next === (frame.kind === 'object' ? 0x7d : 0x5d)) {
        i++;
        stack.pop();
        result = frame.value;
        continue;
      }
      expected(frame.kind === 'object' ? '"," or "}"' : '"," or "]"');
    }
  }
  skipWhitespace();
  if (i < text.length) expected('the end of the file');
  if (issues.length > 0) throw new PolicySyntaxError(issues);
  return root;
}

function describe(text: string, offset: number): string {
  if (offset >= text.length) return 'the end of the file';
  const code = text.codePointAt(offset)!;
  if (code < 0x21 || (code >= 0x7f && code <= 0xa0) || code === 0xfeff) return `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
  return JSON.stringify(String.fromCodePoint(code));
}

/** "line L, column C" (1-based, columns in UTF-16 units as editors count them). */
function where(text: string, offset: number): string {
  let line = 1;
  let lineStart = 0;
  for (let index = text.indexOf('\n'); index !== -1 && index < offset; index = text.indexOf('\n', index + 1)) {
    line++;
    lineStart = index + 1;
  }
  return `line ${line}, column ${offset - lineStart + 1}`;
}
