import fc from 'fast-check';
import { parsePolicy, type CompiledPolicy } from '../../lambda/app/policy-loader.js';
import { PolicyError } from '../../lambda/core/errors.js';
import { MAX_NESTING_DEPTH, RESERVED_KEYS } from '../../lambda/core/policy-structure.js';

// docs/policy.md "Strict loading", the loader as strict as the decisions: whatever the text, parsing a policy returns
// a compiled policy or throws PolicyError, never anything else, and never slowly. A document with
// a duplicate key, a reserved key or nesting deeper than the limit never loads.

const TIME_LIMIT_MS = 2000;

/** A generated document; `entries` may repeat a key, which no JavaScript object can hold. */
type Tree =
  | { readonly kind: 'scalar'; readonly value: string | number | boolean | null }
  | { readonly kind: 'array'; readonly items: readonly Tree[] }
  | { readonly kind: 'object'; readonly entries: ReadonlyArray<readonly [string, Tree]> };

const POLICY_KEYS = ['version', 'mode', 'bounce', 'sender', 'reportingMta', 'rules', 'when', 'then', 'header', 'recipient', 'lists', 'file', 'any', 'not', 'name', 'bounceType', 'extensionFields', 'X-Spam'];
const key = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...POLICY_KEYS) },
  { weight: 2, arbitrary: fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '1', '') },
  { weight: 1, arbitrary: fc.string({ maxLength: 8 }) },
);
const scalar: fc.Arbitrary<Tree> = fc
  .oneof(
    fc.constantFrom('drop', 'bounce', 'enforce', 'dry-run', 'a@example.com', '*@example.com', '@list:x', '^yes$', 'mx.example.com', 'DoesNotExist', '/dev/zero', '__proto__'),
    fc.string({ maxLength: 12 }),
    fc.string({ unit: 'binary', maxLength: 6 }),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.boolean(),
    fc.constant(null),
  )
  .map((value) => ({ kind: 'scalar', value }));

const tree: fc.Arbitrary<Tree> = fc.letrec<{ node: Tree }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('node'), { maxLength: 4 }).map((items): Tree => ({ kind: 'array', items })),
    fc.array(fc.tuple(key, tie('node')), { maxLength: 5 }).map((entries): Tree => ({ kind: 'object', entries })),
  ),
})).node;

const BOUNCE: Tree = object([
  ['sender', str('mailer-daemon@example.com')],
  ['reportingMta', str('mx.example.com')],
]);

/** A valid policy with a random value somewhere a user would write one, so the compiler runs too. */
const policyShaped: fc.Arbitrary<Tree> = fc
  .tuple(fc.constantFrom('when', 'header', 'lists', 'extensionFields', 'top'), tree)
  .map(([where, inner]) => {
    const when = where === 'when' ? inner : where === 'header' ? object([['header', inner]]) : object([['recipient', str('a@example.com')]]);
    const rule = object([
      ['name', str('r')],
      ['when', when],
      ['then', str('bounce')],
      ['bounceType', str('DoesNotExist')],
      ...(where === 'extensionFields' ? [['extensionFields', inner] as const] : []),
    ]);
    return object([
      ['version', { kind: 'scalar', value: 1 }],
      ['bounce', BOUNCE],
      ...(where === 'lists' ? [['lists', inner] as const] : []),
      ['rules', { kind: 'array', items: [rule] }],
      ...(where === 'top' ? [['mode', inner] as const] : []),
    ]);
  });

function str(value: string): Tree {
  return { kind: 'scalar', value };
}
function object(entries: ReadonlyArray<readonly [string, Tree]>): Tree {
  return { kind: 'object', entries };
}

/** Whether the loader must refuse the tree: a duplicate or reserved key, or nesting too deep. */
function mustRefuse(node: Tree, depth = 0): boolean {
  if (node.kind === 'scalar') return false;
  if (depth + 1 > MAX_NESTING_DEPTH) return true;
  if (node.kind === 'array') return node.items.some((item) => mustRefuse(item, depth + 1));
  const keys = node.entries.map(([name]) => name);
  if (new Set(keys).size !== keys.length || keys.some((name) => RESERVED_KEYS.has(name))) return true;
  return node.entries.some(([, value]) => mustRefuse(value, depth + 1));
}

const jsonScalar = (value: string | number | boolean | null): string => JSON.stringify(value);

function toJson(node: Tree): string {
  if (node.kind === 'scalar') return jsonScalar(node.value);
  if (node.kind === 'array') return `[${node.items.map(toJson).join(',')}]`;
  return `{${node.entries.map(([name, value]) => `${JSON.stringify(name)}:${toJson(value)}`).join(',')}}`;
}

/** YAML in block style (flow only for empty collections); strings double-quoted with JSON's escapes, which YAML reads alike. */
function toYamlBlock(node: Tree, indent = 0): string {
  const pad = ' '.repeat(indent);
  const inline = (value: Tree): string | undefined => {
    if (value.kind === 'scalar') return jsonScalar(value.value);
    if (value.kind === 'array' && value.items.length === 0) return '[]';
    if (value.kind === 'object' && value.entries.length === 0) return '{}';
    return undefined;
  };
  const simple = inline(node);
  if (simple !== undefined) return indent === 0 ? `${simple}\n` : simple;
  const lines =
    node.kind === 'array'
      ? node.items.map((item) => {
          const text = inline(item);
          return text !== undefined ? `${pad}- ${text}\n` : `${pad}-\n${toYamlBlock(item, indent + 2)}`;
        })
      : (node as Extract<Tree, { kind: 'object' }>).entries.map(([name, value]) => {
          const text = inline(value);
          return text !== undefined ? `${pad}${JSON.stringify(name)}: ${text}\n` : `${pad}${JSON.stringify(name)}:\n${toYamlBlock(value, indent + 2)}`;
        });
  return lines.join('');
}

type Outcome = { readonly kind: 'policy'; readonly policy: CompiledPolicy } | { readonly kind: 'refused'; readonly error: PolicyError };

/** Parses, failing the property on any error but PolicyError and on any slow document. */
function load(text: string, format: 'json' | 'yaml'): Outcome {
  const start = performance.now();
  let outcome: Outcome;
  try {
    outcome = { kind: 'policy', policy: parsePolicy(text, { fileName: `fuzz.${format}`, format }) };
  } catch (error) {
    if (!(error instanceof PolicyError)) throw new Error(`not a PolicyError (${format}): ${String(error)}\n${text.slice(0, 300)}`, { cause: error });
    expect(error.issues.length).toBeGreaterThan(0);
    for (const issue of error.issues) expect(issue.message).not.toMatch(/call stack|internal error/i);
    outcome = { kind: 'refused', error };
  }
  const elapsed = performance.now() - start;
  if (elapsed > TIME_LIMIT_MS) throw new Error(`took ${elapsed.toFixed(0)} ms (${format}, ${text.length} characters)`);
  expect(Object.prototype).not.toHaveProperty('polluted');
  return outcome;
}

/** Wraps `inner` (JSON text) in `depth` levels, built without recursion. */
function nestJson(depth: number, openers: readonly string[], inner: string): string {
  let open = '';
  let close = '';
  for (let level = 0; level < depth; level++) {
    const opener = openers[level % openers.length]!;
    open += opener;
    close = (opener.startsWith('[') ? ']' : '}') + close;
  }
  return open + inner + close;
}

const deepDocument = fc.record({
  depth: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 3000 })),
  openers: fc.array(fc.constantFrom('[', '{"a":', '{"__proto__":', '{"k":1,"k":', '{"rules":', '[0,'), { minLength: 1, maxLength: 4 }),
  inner: tree,
});

describe('policy fuzzing: PolicyError or a policy, nothing else, quickly', () => {
  it('random JSON documents (and policies with a random part): never another error; duplicates, reserved keys, deep nesting never load', () => {
    fc.assert(
      fc.property(fc.oneof(tree, policyShaped), (doc) => {
        const outcome = load(toJson(doc), 'json');
        if (mustRefuse(doc)) expect(outcome.kind).toBe('refused');
      }),
      { numRuns: 400 },
    );
  });

  it('the same documents as YAML, in block and in flow style', () => {
    fc.assert(
      fc.property(fc.oneof(tree, policyShaped), fc.boolean(), (doc, flow) => {
        const outcome = load(flow ? toJson(doc) : toYamlBlock(doc), 'yaml');
        if (mustRefuse(doc)) expect(outcome.kind).toBe('refused');
      }),
      { numRuns: 400 },
    );
  });

  it('a policy-shaped document loads, or not, alike from JSON and YAML', () => {
    let loaded = 0;
    fc.assert(
      fc.property(policyShaped, (doc) => {
        const json = load(toJson(doc), 'json');
        const yaml = load(toYamlBlock(doc), 'yaml');
        expect(yaml.kind).toBe(json.kind);
        if (json.kind === 'policy' && yaml.kind === 'policy') {
          loaded++;
          expect(yaml.policy.document).toEqual(json.policy.document);
        }
      }),
      { numRuns: 300 },
    );
    expect(loaded).toBeGreaterThan(0);
  });

  it('nesting up to a few thousand levels, JSON and YAML flow and block: refused past the limit, never a stack overflow', () => {
    fc.assert(
      fc.property(deepDocument, fc.constantFrom('json', 'yaml-flow', 'yaml-block', 'yaml-compact'), ({ depth, openers, inner }, style) => {
        let text: string;
        let levels = depth;
        if (style === 'yaml-block') {
          levels = Math.min(depth, 600);
          text = '';
          for (let level = 0; level < levels; level++) text += `${' '.repeat(2 * level)}k${level % 3}:\n`;
          text += `${' '.repeat(2 * levels)}${jsonScalar('x')}\n`;
        } else if (style === 'yaml-compact') {
          text = `${'- '.repeat(depth)}${toJson(inner)}\n`;
        } else {
          text = nestJson(depth, openers, toJson(inner));
        }
        const outcome = load(text, style === 'json' ? 'json' : 'yaml');
        if (levels > MAX_NESTING_DEPTH) {
          expect(outcome.kind).toBe('refused');
          if (outcome.kind === 'refused') expect(outcome.error.issues.some((issue) => issue.message === `nested deeper than ${MAX_NESTING_DEPTH} levels`)).toBe(true);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('arbitrary text, and valid policies cut or spliced at random: never another error', () => {
    const validTree = object([
      ['version', { kind: 'scalar', value: 1 }],
      ['bounce', BOUNCE],
      ['lists', object([['vip', { kind: 'array', items: [str('ceo@example.com')] }]])],
      ['rules', { kind: 'array', items: [object([['name', str('a')], ['when', object([['header', object([['X-Spam', str('^yes$')]])]])], ['then', str('drop')]])] }],
    ]);
    const valid = toJson(validTree);
    const validYaml = toYamlBlock(validTree);
    expect(load(valid, 'json').kind).toBe('policy');
    expect(load(validYaml, 'yaml').kind).toBe('policy');
    const noise = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('[', '{', '"', "'", '&a ', '*a', '!!set ', '<<: ', '%YAML 1.1\n---\n', '\n- ', ': ', '\\u0000', '#', '\ufeff'));
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: 'binary', maxLength: 200 })), fc.constantFrom<'json' | 'yaml'>('json', 'yaml'), (text, format) => {
        load(text, format);
      }),
      { numRuns: 300 },
    );
    fc.assert(
      fc.property(fc.constantFrom(valid, validYaml), fc.nat(), fc.nat(), noise, fc.constantFrom<'json' | 'yaml'>('json', 'yaml'), (base, cut, at, insert, format) => {
        const end = cut % (base.length + 1);
        const position = at % (end + 1);
        load(base.slice(0, position) + insert + base.slice(position, end), format);
      }),
      { numRuns: 500 },
    );
  });

  it('YAML aliases: cycles, nesting through aliases and expansion are refused', () => {
    for (const text of ['a: &a [*a]', 'a: &a {b: *a}', `a: &a ${'['.repeat(30)}${']'.repeat(30)}\nb: [[[*a]]]`]) {
      expect(load(text, 'yaml').kind).toBe('refused');
    }
  });
});
