import type * as z from 'zod/mini';
import type { ParsedAddress } from './address.js';
import { BOUNCE_DEFAULTS, smtpClass, statusClass } from './bounce-types.js';
import { PolicyError, type PolicyIssue } from './errors.js';
import { formatPath, issueMessage } from './issues.js';
import type { MessageView } from './message.js';
import { AddressMatcher, parseAddressPattern, type AddressPattern } from './patterns.js';
import {
  PolicyDocument,
  type Action,
  type BounceType,
  type ConditionInput,
  type RuleInput,
} from './policy-schema.js';
import { maxPolicyValues, PolicySyntaxError, scanStructure, STACK_OVERFLOW_MESSAGE } from './policy-structure.js';
import { compileRegex, compilingOnce, regexProblem, regexSources, type RegexEngine } from './regex.js';
import { compileAccept, expressibleProblem, SES_RECEIVING_QUOTAS, type AcceptPattern, type AcceptSet } from './ses-recipients.js';
import { parseStrictJson } from './strict-json.js';
import type { ExtensionField } from './send-bounce.js';
import { hasControlCharacters } from './text.js';

export type { ExtensionField } from './send-bounce.js';

/** Everything a bounce rule puts into the DSN, with the RFC 3463 defaults filled in. */
export interface BounceSpec {
  readonly bounceType: BounceType;
  readonly status: string;
  readonly smtpCode: number;
  readonly diagnostic: string;
  readonly explanation: string | undefined;
  readonly extensionFields: readonly ExtensionField[];
  readonly recipientArn: string | undefined;
}

export type RecipientTest = (message: MessageView, recipient: ParsedAddress | undefined) => boolean;
export type MessageTest = (message: MessageView) => boolean;

/**
 * A condition split into the part that depends only on the message, which a decision
 * evaluates once per message however many recipients it has, and the part that looks at the
 * recipient. Absent parts hold; both absent is a match-all.
 */
export interface CompiledCondition {
  readonly messageTest: MessageTest | undefined;
  readonly recipientTest: RecipientTest | undefined;
}

export interface CompiledRule extends CompiledCondition {
  readonly index: number;
  readonly name: string;
  readonly then: Action;
  readonly bounce: BounceSpec | undefined;
}

export type Guards = PolicyDocument['guards'];

export interface CompiledPolicy {
  readonly mode: PolicyDocument['mode'];
  readonly bounce: {
    readonly sender: string;
    readonly senderArn: string | undefined;
    readonly reportingMta: string;
    readonly extensionFields: readonly ExtensionField[];
  };
  readonly guards: Guards;
  readonly rules: readonly CompiledRule[];
  readonly default: PolicyDocument['default'];
  /** The recipients SES may accept, compiled to receipt rule recipients; undefined: every recipient of the rule (no `accept`). */
  readonly accept: AcceptSet | undefined;
  /** The policy with every list inlined: self-contained, so it can be bundled and loaded anywhere. */
  readonly document: PolicyDocument;
}

export interface ParsePolicyOptions {
  /** Used in messages. */
  readonly fileName: string;
  /** @default 'yaml' (YAML also reads JSON, but JSON files get JSON's messages) */
  readonly format?: 'yaml' | 'json';
  /** Reads a list file named relative to the policy. @default none: a list file is an error */
  readonly readListFile?: (name: string) => string;
  /** Parses YAML text; required for the YAML format. */
  readonly parseYaml?: (text: string) => unknown;
  /** The RE2 engine; required for a policy with regular expressions (`subject`, `header`). */
  readonly regex?: RegexEngine;
}

/**
 * Validates and compiles policy text; reading files and choosing engines is the loader's
 * (lambda/app/policy-loader.ts). Throws PolicyError naming every problem.
 */
export function parsePolicyWith(text: string, options: ParsePolicyOptions): CompiledPolicy {
  return compileParsedPolicy(parsePolicyText(text, options), options);
}

/** Policy text as a value, read strictly; the first of the two steps of parsePolicyWith. */
export function parsePolicyText(text: string, options: ParsePolicyOptions): ParsedPolicy {
  return guardStack(options.fileName, () => parseText(text, options));
}

/** Whether a policy as read has regular expressions, so that a loader knows whether it needs the RE2 engine. */
export function policyUsesRegex(parsed: ParsedPolicy): boolean {
  return regexSources(parsed.raw).length > 0;
}

/** The second step: validates the value and compiles it. */
export function compileParsedPolicy(parsed: ParsedPolicy, options: ParsePolicyOptions): CompiledPolicy {
  return guardStack(options.fileName, () => compileRawPolicy(parsed, options));
}

/**
 * The last resort behind the nesting limit: a stack overflow while reading a policy is reported
 * as a problem with the policy, never a crash.
 */
function guardStack<T>(fileName: string, run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (isStackOverflow(error)) throw new PolicyError(fileName, [{ path: '', message: STACK_OVERFLOW_MESSAGE }], { cause: error });
    throw error;
  }
}

/** Why a list file could not be read: the system's code (ENOENT), else the loader's message (too large, not a regular file). */
function readFailure(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.message : String(error);
}

/** The last part of a path, for messages (`staff.txt line 4`). */
function baseName(path: string): string {
  return path.split(/[\\/]/).pop() ?? path;
}

function isStackOverflow(error: unknown): boolean {
  return error instanceof RangeError && /call stack/i.test(error.message);
}

/** A policy as read, before validation. */
export interface ParsedPolicy {
  readonly raw: unknown;
  /** Control characters in values or keys: reported with the schema's issues. */
  readonly issues: readonly PolicyIssue[];
}

function compileRawPolicy({ raw, issues: textIssues }: ParsedPolicy, given: ParsePolicyOptions): CompiledPolicy {
  // Each regular expression is compiled once, by its check; the compiler takes the result.
  const options = given.regex === undefined ? given : { ...given, regex: compilingOnce(given.regex) };
  const issues = [...textIssues];
  const parsed = PolicyDocument.safeParse(raw, { reportInput: true });
  if (!parsed.success) issues.push(...zodIssues(parsed.error));
  issues.push(...regexIssues(raw, options));
  if (issues.length > 0 || !parsed.success) throw new PolicyError(options.fileName, dedupeByPath(issues));
  const compiler = new PolicyCompiler(parsed.data, options);
  const policy = compiler.compile();
  if (compiler.issues.length > 0) throw new PolicyError(options.fileName, compiler.issues);
  return policy;
}

/** RE2 syntax errors, each at its path; the engine missing, when the policy has any regular expression. */
function regexIssues(raw: unknown, options: ParsePolicyOptions): PolicyIssue[] {
  const sources = regexSources(raw);
  if (sources.length === 0) return [];
  const engine = options.regex;
  if (engine === undefined) return [{ path: formatPath(sources[0]!.path), message: 'regular expressions need the RE2 engine: load the policy with lambda/app/policy-loader.ts' }];
  return sources.flatMap(({ path, source }) => {
    const problem = regexProblem(engine, source);
    return problem === undefined ? [] : [{ path: formatPath(path), message: `not an RE2 regular expression: ${problem}` }];
  });
}

/**
 * Policy text to its value, strictly (docs/policy.md "Strict loading"): a duplicate key, a key that names an object
 * prototype member or nesting deeper than MAX_NESTING_DEPTH stops here, by path, before the
 * schema sees the value (which then recurses at most that deep).
 */
function parseText(text: string, options: ParsePolicyOptions): ParsedPolicy {
  const json = options.format === 'json';
  if (!json && !options.parseYaml) throw new PolicyError(options.fileName, [{ path: '', message: 'YAML policies need the YAML parser here: give a .json policy' }]);
  let raw: unknown;
  try {
    raw = json ? parseStrictJson(text) : options.parseYaml!(text);
  } catch (error) {
    if (error instanceof PolicySyntaxError) throw new PolicyError(options.fileName, error.issues, { cause: error });
    if (isStackOverflow(error)) throw new PolicyError(options.fileName, [{ path: '', message: STACK_OVERFLOW_MESSAGE }], { cause: error });
    const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    throw new PolicyError(options.fileName, [{ path: '', message: `not valid ${json ? 'JSON' : 'YAML'}: ${message}` }], { cause: error });
  }
  if (raw === null || raw === undefined) throw new PolicyError(options.fileName, [{ path: '', message: 'the policy is empty' }]);
  // Again on the value: YAML aliases can nest (even in a cycle) and repeat what the text does not.
  const scan = scanStructure(raw, maxPolicyValues(text.length));
  if (scan.fatal) throw new PolicyError(options.fileName, dedupeByPath(scan.issues));
  return { raw, issues: scan.issues };
}

function zodIssues(error: z.core.$ZodError): PolicyIssue[] {
  return describeIssues(error.issues, []);
}

function describeIssues(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[]): PolicyIssue[] {
  return issues.flatMap((issue): PolicyIssue[] => {
    const fullPath = [...prefix, ...issue.path];
    const path = formatPath(fullPath);
    switch (issue.code) {
      case 'invalid_union': {
        // "One value or a list of them": report the branch that got furthest into the value,
        // preferring one whose type fits.
        const depth = (branch: readonly z.core.$ZodIssue[]): number =>
          Math.max(...branch.map((inner) => inner.path.length * 2 + (inner.code === 'invalid_type' ? 0 : 1)));
        const best = [...issue.errors].sort((a, b) => depth(b) - depth(a))[0];
        return best ? describeIssues(best, fullPath) : [{ path, message: issue.message }];
      }
      case 'invalid_key':
        return describeIssues(issue.issues, fullPath);
      case 'unrecognized_keys':
        return issue.keys.map((key) => ({ path: formatPath([...fullPath, key]), message: 'unknown key' }));
      default:
        return [{ path, message: issueMessage(issue) }];
    }
  });
}

function dedupeByPath(issues: PolicyIssue[]): PolicyIssue[] {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    if (seen.has(issue.path)) return false;
    seen.add(issue.path);
    return true;
  });
}

const BOUNCE_ONLY_FIELDS = ['bounceType', 'status', 'smtpCode', 'diagnostic', 'explanation', 'extensionFields', 'recipientArn'] as const;
const MATCH_ALL: CompiledCondition = { messageTest: undefined, recipientTest: undefined };

/**
 * A list's entries, in parallel arrays (a list file can hold 100,000 lines: no object per
 * entry), with where each came from, for messages about it.
 */
interface ListEntries {
  readonly patterns: AddressPattern[];
  readonly texts: string[];
  /** The entry's index, or its line number in the list file. */
  readonly positions: number[];
  /** `lists.staff[3]` or `staff.txt line 4`. */
  readonly where: (position: number) => string;
}

/** Problems reported for one `accept` entry that names a list, at most (a list file can hold 100,000 lines). */
const MAX_ISSUES_PER_ACCEPT_LIST = 20;

/** Cross-checks what the schema cannot see (lists, shadowed rules, status classes) and builds the matchers. */
class PolicyCompiler {
  readonly issues: PolicyIssue[] = [];
  private readonly lists = new Map<string, AddressPattern[]>();
  private readonly listEntries = new Map<string, ListEntries>();
  private readonly inlinedLists: Record<string, string[]> = {};

  constructor(
    private readonly document: PolicyDocument,
    private readonly options: ParsePolicyOptions,
  ) {}

  compile(): CompiledPolicy {
    this.loadLists();
    const rules = this.document.rules.map((rule, index) => this.compileRule(rule, index));
    this.checkReachability();
    this.checkUniqueNames(rules);
    const accept = this.compileAccept();
    const { bounce } = this.document;
    return {
      mode: this.document.mode,
      bounce: {
        sender: bounce.sender,
        senderArn: bounce.senderArn,
        reportingMta: bounce.reportingMta,
        extensionFields: toExtensionFields(bounce.extensionFields),
      },
      guards: this.document.guards,
      rules,
      default: this.document.default,
      accept,
      document: { ...this.document, ...(this.document.lists ? { lists: this.inlinedLists } : {}) },
    };
  }

  private loadLists(): void {
    for (const [name, source] of Object.entries(this.document.lists ?? {})) {
      const fromFile = !Array.isArray(source);
      const entries: ListEntries = {
        patterns: [],
        texts: [],
        positions: [],
        where: fromFile ? (line) => `${baseName(source.file)} line ${line}` : (index) => `lists.${name}[${index}]`,
      };
      const add = (text: string, path: string, position: number): void => {
        const pattern = parseAddressPattern(text);
        const where = fromFile ? `${entries.where(position)}: ` : '';
        if (pattern === undefined) this.issues.push({ path, message: `${where}not an address pattern: ${JSON.stringify(text)}` });
        else if (pattern.kind === 'list') this.issues.push({ path, message: `${where}a list cannot refer to another list` });
        else {
          entries.patterns.push(pattern);
          entries.texts.push(text.trim());
          entries.positions.push(position);
        }
      };
      if (!fromFile) {
        source.forEach((text, index) => add(text, `lists.${name}[${index}]`, index));
      } else {
        const path = `lists.${name}.file`;
        const content = this.readListFile(source.file, path);
        content?.split(/\r?\n/).forEach((line, index) => {
          const text = line.trim();
          if (text === '' || text.startsWith('#')) return;
          if (hasControlCharacters(text)) this.issues.push({ path, message: `${entries.where(index + 1)}: contains a control character (CR, LF, TAB or another)` });
          else add(text, path, index + 1);
        });
      }
      this.lists.set(name, entries.patterns);
      this.listEntries.set(name, entries);
      this.inlinedLists[name] = entries.texts;
    }
  }

  /**
   * `accept` (docs/policy.md "accept"): every entry, lists expanded, must be a recipient a receipt rule can
   * list, and all of them must fit in one rule set (docs/refusal.md).
   */
  private compileAccept(): AcceptSet | undefined {
    const texts = this.document.accept;
    if (texts === undefined) return undefined;
    const patterns: AcceptPattern[] = [];
    texts.forEach((text, index) => {
      const path = `accept[${index}]`;
      const pattern = parseAddressPattern(text)!; // the schema has checked it
      if (pattern.kind !== 'list') {
        patterns.push(pattern as AcceptPattern);
        return;
      }
      const entries = this.listEntries.get(pattern.name);
      if (entries === undefined) {
        this.issues.push({ path, message: `unknown list "${pattern.name}"` });
        return;
      }
      let problems = 0;
      entries.patterns.forEach((entry, i) => {
        const problem = expressibleProblem(entry);
        if (problem === undefined) patterns.push(entry as AcceptPattern);
        else if (++problems <= MAX_ISSUES_PER_ACCEPT_LIST) this.issues.push({ path, message: `${entries.texts[i]} (${entries.where(entries.positions[i]!)}): ${problem}` });
      });
      if (problems > MAX_ISSUES_PER_ACCEPT_LIST) {
        this.issues.push({ path, message: `and ${problems - MAX_ISSUES_PER_ACCEPT_LIST} more entries of list "${pattern.name}" that SES receipt rules cannot list` });
      }
    });
    const accept = compileAccept(patterns);
    const { recipientsPerRule, rulesPerRuleSet } = SES_RECEIVING_QUOTAS;
    if (accept.ruleRecipients.length === 0 && !this.issues.some((issue) => issue.path.startsWith('accept'))) {
      // Its lists are empty: SES would refuse every address, and a receipt rule with no recipients takes every verified domain.
      this.issues.push({ path: 'accept', message: 'compiles to no recipient (its lists are empty): SES would refuse every address' });
    }
    if (accept.rulesNeeded > rulesPerRuleSet) {
      this.issues.push({
        path: 'accept',
        message:
          `compiles to ${accept.ruleRecipients.length} receipt rule recipients, ${accept.rulesNeeded} receipt rules: over SES's quota of ` +
          `${rulesPerRuleSet} rules per rule set at ${recipientsPerRule} recipients each (${rulesPerRuleSet * recipientsPerRule} recipients; SES service quotas). ` +
          'Accept whole domains (*@domain) where you can',
      });
    }
    return accept;
  }

  private readListFile(file: string, path: string): string | undefined {
    if (!this.options.readListFile) {
      this.issues.push({ path, message: 'list files are not available here; inline the list' });
      return undefined;
    }
    try {
      return this.options.readListFile(file);
    } catch (error) {
      this.issues.push({ path, message: `cannot read ${file}: ${readFailure(error)}` });
      return undefined;
    }
  }

  private compileRule(rule: RuleInput, index: number): CompiledRule {
    const path = `rules[${index}]`;
    const name = rule.name ?? path;
    const condition = rule.when === undefined ? MATCH_ALL : this.compileCondition(rule.when, `${path}.when`);
    return { index, name, then: rule.then, ...condition, bounce: this.compileBounce(rule, path) };
  }

  private compileBounce(rule: RuleInput, path: string): BounceSpec | undefined {
    if (rule.then !== 'bounce') {
      for (const field of BOUNCE_ONLY_FIELDS) {
        if (rule[field] !== undefined) this.issues.push({ path: `${path}.${field}`, message: 'only allowed with then: bounce' });
      }
      return undefined;
    }
    if (rule.bounceType === undefined) {
      this.issues.push({ path: `${path}.bounceType`, message: 'required with then: bounce' });
      return undefined;
    }
    const defaults = BOUNCE_DEFAULTS[rule.bounceType];
    const status = rule.status ?? defaults.status;
    const smtpCode = rule.smtpCode ?? defaults.smtpCode;
    if (statusClass(status) !== smtpClass(smtpCode)) {
      // RFC 3463 §3.1: the status class must agree with the SMTP reply's first digit.
      const field = rule.smtpCode !== undefined ? 'smtpCode' : 'status';
      this.issues.push({
        path: `${path}.${field}`,
        message: `SMTP code ${smtpCode} and status ${status} are of different classes (4xx goes with 4.x.x, 5xx with 5.x.x)`,
      });
    }
    return {
      bounceType: rule.bounceType,
      status,
      smtpCode,
      diagnostic: rule.diagnostic ?? defaults.diagnostic,
      explanation: rule.explanation,
      extensionFields: toExtensionFields(rule.extensionFields),
      recipientArn: rule.recipientArn,
    };
  }

  private compileCondition(condition: ConditionInput, path: string): CompiledCondition {
    const onMessage: MessageTest[] = [];
    const onRecipient: RecipientTest[] = [];
    const addresses = (key: 'recipient' | 'sender' | 'from'): AddressMatcher | undefined => {
      const value = condition[key];
      if (value === undefined) return undefined;
      const texts = typeof value === 'string' ? [value] : value;
      const patterns = texts.map((text, index) => {
        const pattern = parseAddressPattern(text)!; // the schema has checked it
        if (pattern.kind === 'list' && !this.lists.has(pattern.name)) {
          const where = typeof value === 'string' ? `${path}.${key}` : `${path}.${key}[${index}]`;
          this.issues.push({ path: where, message: `unknown list "${pattern.name}"` });
        }
        return pattern;
      });
      return new AddressMatcher(patterns, this.lists);
    };
    const recipient = addresses('recipient');
    if (recipient) onRecipient.push((_, address) => address !== undefined && recipient.matches(address));
    const sender = addresses('sender');
    if (sender) onMessage.push((message) => message.senderAddress !== undefined && sender.matches(message.senderAddress));
    const from = addresses('from');
    if (from) onMessage.push((message) => message.fromAddresses.some((address) => from.matches(address)));
    if (condition.subject !== undefined) {
      const subject = compileRegex(this.options.regex!, condition.subject);
      onMessage.push((message) => message.subjects.some((value) => subject.test(value)));
    }
    for (const [name, source] of Object.entries(condition.header ?? {})) {
      const key = name.toLowerCase();
      const regex = compileRegex(this.options.regex!, source);
      onMessage.push((message) => (message.headers.get(key) ?? []).some((value) => regex.test(value)));
    }
    for (const key of ['spam', 'virus', 'spf', 'dkim', 'dmarc'] as const) {
      const value = condition[key];
      if (value === undefined) continue;
      const accepted = new Set<string>(typeof value === 'string' ? [value] : value);
      onMessage.push((message) => message.verdicts[key] !== undefined && accepted.has(message.verdicts[key]));
    }
    if (condition.dmarcPolicy !== undefined) {
      const values = typeof condition.dmarcPolicy === 'string' ? [condition.dmarcPolicy] : condition.dmarcPolicy;
      const accepted = new Set(values.map((value) => value.toLowerCase()));
      onMessage.push((message) => message.dmarcPolicy !== undefined && accepted.has(message.dmarcPolicy));
    }
    const nested = (inner: CompiledCondition, combine: (test: RecipientTest) => RecipientTest): void => {
      const test = combine(asRecipientTest(inner));
      if (inner.recipientTest === undefined) onMessage.push((message) => test(message, undefined));
      else onRecipient.push(test);
    };
    if (condition.any) {
      const any = condition.any.map((inner, index) => this.compileCondition(inner, `${path}.any[${index}]`));
      nested(mergeRecipientParts(any), (probe) => probe);
    }
    if (condition.all) {
      const all = condition.all.map((inner, index) => this.compileCondition(inner, `${path}.all[${index}]`));
      nested(conjunction(all.map(asRecipientTest), all.some((part) => part.recipientTest)), (probe) => probe);
    }
    if (condition.not) {
      const not = this.compileCondition(condition.not, `${path}.not`);
      nested(not, (probe) => (message, address) => !probe(message, address));
    }
    return { messageTest: everyMessage(onMessage), recipientTest: everyRecipient(onRecipient) };
  }

  /** A rule behind a match-all rule (no `when`, or `when: {}`) can never match (docs/policy.md "What makes a policy invalid"). */
  private checkReachability(): void {
    const catchAll = this.document.rules.findIndex((rule) => rule.when === undefined || Object.keys(rule.when).length === 0);
    if (catchAll === -1) return;
    const catchAllName = this.document.rules[catchAll]!.name ?? `rules[${catchAll}]`;
    for (let index = catchAll + 1; index < this.document.rules.length; index++) {
      this.issues.push({
        path: `rules[${index}]`,
        message: `unreachable: rule "${catchAllName}" (rules[${catchAll}]) before it matches everything`,
      });
    }
  }

  private checkUniqueNames(rules: readonly CompiledRule[]): void {
    const first = new Map<string, number>();
    for (const rule of rules) {
      const earlier = first.get(rule.name);
      if (earlier === undefined) first.set(rule.name, rule.index);
      else this.issues.push({ path: `rules[${rule.index}].name`, message: `duplicate rule name "${rule.name}" (also rules[${earlier}])` });
    }
  }
}

/** A condition as one test of (message, recipient). */
function asRecipientTest({ messageTest, recipientTest }: CompiledCondition): RecipientTest {
  if (messageTest && recipientTest) return (message, address) => messageTest(message) && recipientTest(message, address);
  if (messageTest) return (message) => messageTest(message);
  return recipientTest ?? (() => true);
}

/** `any` of several conditions: recipient-dependent as soon as one part is. */
function mergeRecipientParts(parts: readonly CompiledCondition[]): CompiledCondition {
  const tests = parts.map(asRecipientTest);
  const any: RecipientTest = (message, address) => tests.some((test) => test(message, address));
  return parts.some((part) => part.recipientTest) ? { messageTest: undefined, recipientTest: any } : { messageTest: (message) => any(message, undefined), recipientTest: undefined };
}

function conjunction(tests: readonly RecipientTest[], usesRecipient: boolean | undefined): CompiledCondition {
  const all: RecipientTest = (message, address) => tests.every((test) => test(message, address));
  return usesRecipient ? { messageTest: undefined, recipientTest: all } : { messageTest: (message) => all(message, undefined), recipientTest: undefined };
}

function everyMessage(tests: readonly MessageTest[]): MessageTest | undefined {
  if (tests.length <= 1) return tests[0];
  return (message) => tests.every((test) => test(message));
}

function everyRecipient(tests: readonly RecipientTest[]): RecipientTest | undefined {
  if (tests.length <= 1) return tests[0];
  return (message, address) => tests.every((test) => test(message, address));
}

function toExtensionFields(fields: Record<string, string> | undefined): ExtensionField[] {
  return Object.entries(fields ?? {}).map(([Name, Value]) => ({ Name, Value }));
}
