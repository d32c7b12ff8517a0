import { Composer, CST, isAlias, isMap, isScalar, isSeq, LineCounter, Parser, type Document, type Node } from 'yaml';
import type { PolicyIssue } from './errors.js';
import { formatPath } from './issues.js';
import {
  DUPLICATE_KEY_MESSAGE,
  MAX_NESTING_DEPTH,
  PolicySyntaxError,
  RESERVED_KEY_MESSAGE,
  RESERVED_KEYS,
  STACK_OVERFLOW_MESSAGE,
  TOO_DEEP_MESSAGE,
} from './policy-structure.js';

// A strict YAML reader for policy files (docs/policy.md "Strict loading"). The `yaml` package's lexer and parser (text to
// CST) keep their own stacks, but its composer (CST to nodes) and toJS recurse once per level of
// nesting, and overflow the call stack at a few hundred levels. So the CST is checked for
// nesting deeper than MAX_NESTING_DEPTH before anything is composed, and a cheap scan of the text
// finds a bracket bomb ("[[[[...") before even the CST is built: the parser is linear but slow
// (about a second per megabyte of brackets). Duplicate keys, and keys that name an object
// prototype member, are reported by path (the package's own `uniqueKeys` names no path, and
// compares 1 and "1" as different keys although they become the same property).

const KEY_NOT_SCALAR = 'a key must be a string, a number or a boolean, not a list or a mapping';

/** The value of a YAML policy text (one document); throws PolicySyntaxError naming every structural problem. */
export function parseStrictYaml(text: string): unknown {
  try {
    return parse(text);
  } catch (error) {
    // Last resort: nothing above should recurse deeply, but a stack overflow must not escape as a crash.
    if (isStackOverflow(error)) throw new PolicySyntaxError([{ path: '', message: STACK_OVERFLOW_MESSAGE }]);
    throw error;
  }
}

function parse(text: string): unknown {
  const bomb = flowBombOffset(text, MAX_NESTING_DEPTH);
  if (bomb !== -1) {
    // Name the path from the text up to the bracket that goes too deep (usually short); if the
    // scan was misled (brackets inside scalars), go on with the whole text.
    const issues = cstDepthIssues(new Parser().parse(text.slice(0, bomb + 1)));
    if (issues.length > 0) throw new PolicySyntaxError(issues);
  }
  const lineCounter = new LineCounter();
  const tokens = Array.from(new Parser(lineCounter.addNewLine).parse(text));
  const depthIssues = cstDepthIssues(tokens);
  if (depthIssues.length > 0) throw new PolicySyntaxError(depthIssues);

  const docs = Array.from(new Composer({ uniqueKeys: false, merge: false, prettyErrors: false }).compose(tokens, true, text.length));
  const doc = docs[0];
  if (doc === undefined) return null;
  const at = (offset: number): string => {
    const { line, col } = lineCounter.linePos(offset);
    return `line ${line}, column ${col}`;
  };
  if (docs.length > 1) throw new PolicySyntaxError([{ path: '', message: `not valid YAML: more than one document (${at(docs[1]!.range[0])})` }]);
  const [error] = doc.errors;
  if (error !== undefined) {
    if (isStackOverflow(error)) throw new PolicySyntaxError([{ path: '', message: STACK_OVERFLOW_MESSAGE }]);
    throw new PolicySyntaxError([{ path: '', message: `not valid YAML: ${error.message.split('\n')[0]} (${at(error.pos[0])})` }]);
  }
  const keyIssues = astKeyIssues(doc);
  if (keyIssues.length > 0) throw new PolicySyntaxError(keyIssues);
  return doc.toJS({ maxAliasCount: 100 });
}

function isStackOverflow(error: unknown): boolean {
  return error instanceof Error && /call stack/i.test(error.message);
}

/**
 * Where `[` or `{` first opens a flow collection more than `limit` deep, or -1. A fast
 * approximation: it skips comments and quoted scalars where it can tell them apart, may count a
 * bracket inside a plain scalar (the caller then checks with the parser) and may miss a crafted
 * bomb (the CST check after it still stops that one, more slowly).
 */
function flowBombOffset(text: string, limit: number): number {
  let depth = 0;
  // Block context: whether a bracket here would open a flow collection (a node starts here).
  let nodeStart = true;
  // Flow context: the last character that is not white space.
  let previous = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a || c === 0x0d) {
      if (depth === 0) nodeStart = true;
      continue;
    }
    if (c === 0x20 || c === 0x09) continue;
    if (c === 0x23 && (i === 0 || isBlank(text.charCodeAt(i - 1)))) {
      const end = text.indexOf('\n', i);
      i = end === -1 ? text.length : end - 1;
      continue;
    }
    if (depth === 0) {
      const blankAfter = isBlank(text.charCodeAt(i + 1)) || i + 1 >= text.length;
      if (c === 0x3a && blankAfter) {
        nodeStart = true; // "key: " — the value starts here
      } else if (!nodeStart) {
        continue;
      } else if (c === 0x5b || c === 0x7b) {
        depth = 1;
        previous = c;
        if (depth > limit) return i;
      } else if ((c === 0x2d || c === 0x3f) && blankAfter) {
        // "- " or "? ": still at a node start
      } else if (c === 0x26 || c === 0x21) {
        while (i + 1 < text.length && !isBlank(text.charCodeAt(i + 1))) i++; // &anchor or !tag
      } else if (c === 0x22 || c === 0x27) {
        i = quotedEnd(text, i);
        nodeStart = false;
      } else {
        nodeStart = false;
      }
      continue;
    }
    if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return i;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
      if (depth === 0) nodeStart = false;
    } else if ((c === 0x22 || c === 0x27) && (previous === 0x5b || previous === 0x7b || previous === 0x2c || previous === 0x3a || previous === 0x3f)) {
      i = quotedEnd(text, i);
    }
    previous = c;
  }
  return -1;
}

function isBlank(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
}

/** The offset of the quote that closes the quoted scalar opening at `start` (or the last offset). */
function quotedEnd(text: string, start: number): number {
  const quote = text.charCodeAt(start);
  for (let i = start + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (quote === 0x22 && c === 0x5c) i++;
    else if (c === quote) {
      if (quote === 0x27 && text.charCodeAt(i + 1) === 0x27) i++;
      else return i;
    }
  }
  return text.length - 1;
}

type Path = readonly PropertyKey[];

/** Every collection nested deeper than MAX_NESTING_DEPTH in the CST, by path; without recursion, and without looking inside it. */
function cstDepthIssues(tokens: Iterable<CST.Token>): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  const stack: Array<{ token: CST.Token | null | undefined; depth: number; path: Path }> = [];
  for (const token of tokens) if (token.type === 'document') stack.push({ token: token.value, depth: 0, path: [] });
  stack.reverse();
  while (stack.length > 0) {
    const { token, depth, path } = stack.pop()!;
    if (!token || (token.type !== 'block-map' && token.type !== 'block-seq' && token.type !== 'flow-collection')) continue;
    if (depth + 1 > MAX_NESTING_DEPTH) {
      issues.push({ path: formatPath(path), message: TOO_DEEP_MESSAGE });
      continue;
    }
    const next: Array<{ token: CST.Token | null | undefined; depth: number; path: Path }> = [];
    const isMapping = token.type === 'block-map' || (token.type === 'flow-collection' && token.start.source === '{');
    token.items.forEach((item, index) => {
      const pairInSeq = !isMapping && ('key' in item || (item.sep ?? []).some((sep) => sep.type === 'map-value-ind'));
      if (isMapping || pairInSeq) {
        // A "[key: value]" pair is a one-entry mapping inside the sequence: one level more.
        const at = pairInSeq ? [...path, index] : path;
        const level = pairInSeq ? depth + 2 : depth + 1;
        if (level > MAX_NESTING_DEPTH) {
          issues.push({ path: formatPath(at), message: TOO_DEEP_MESSAGE });
          return;
        }
        const key = 'key' in item ? item.key : undefined;
        next.push({ token: key, depth: level, path: [...at, '?'] });
        next.push({ token: item.value, depth: level, path: [...at, cstKeyText(key)] });
      } else {
        next.push({ token: item.value, depth: depth + 1, path: [...path, index] });
      }
    });
    for (let index = next.length - 1; index >= 0; index--) stack.push(next[index]!);
  }
  return issues;
}

function cstKeyText(key: CST.Token | null | undefined): string {
  if (!key) return '';
  if (key.type === 'alias') return key.source;
  return CST.resolveAsScalar(key)?.value ?? '?';
}

/** Duplicate keys (as the JavaScript property names they become), reserved keys and collection keys, by path. */
function astKeyIssues(doc: Document.Parsed): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  const stack: Array<{ node: unknown; path: Path }> = [{ node: doc.contents, path: [] }];
  while (stack.length > 0) {
    const { node, path } = stack.pop()!;
    const next: Array<{ node: unknown; path: Path }> = [];
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        const key = propertyName(pair.key, doc);
        if (key === undefined) {
          issues.push({ path: formatPath(path), message: KEY_NOT_SCALAR });
          continue;
        }
        const keyPath = [...path, key];
        if (RESERVED_KEYS.has(key)) issues.push({ path: formatPath(keyPath), message: RESERVED_KEY_MESSAGE });
        else if (seen.has(key)) issues.push({ path: formatPath(keyPath), message: DUPLICATE_KEY_MESSAGE });
        seen.add(key);
        next.push({ node: pair.value, path: keyPath });
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => next.push({ node: item, path: [...path, index] }));
    }
    for (let index = next.length - 1; index >= 0; index--) stack.push(next[index]!);
  }
  return issues;
}

/** The property name a mapping key becomes in JavaScript (as the `yaml` package's toJS names it), or undefined for a collection. */
function propertyName(key: unknown, doc: Document.Parsed): string | undefined {
  const node = isAlias(key) ? (key.resolve(doc) as Node | undefined) : key;
  if (node === null || node === undefined) return '';
  if (!isScalar(node)) return undefined;
  const value = node.value;
  if (value === null || value === undefined) return '';
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint' ? String(value) : undefined;
}
