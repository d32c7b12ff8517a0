// The receipt function's and the audit's policy loader: the YAML parser and the RE2 engine
// (re2js, 147 KB) are initialised only when the policy needs them. Its bundled policy is JSON,
// and most policies have no regular expression, so most cold starts load neither. This module
// imports them only dynamically; lambda/app/policy-loader.ts is the eager one.
import { compileParsedPolicy, parsePolicyText, policyUsesRegex, type CompiledPolicy, type ParsePolicyOptions } from '../core/policy-compiler.js';
import { policyFileOptions, readPolicyText } from './policy-files.js';

/** How the optional parts are loaded: by dynamic import, so that a bundle initialises them only when called. */
export interface LazyPolicyParts {
  readonly yaml: () => Promise<NonNullable<ParsePolicyOptions['parseYaml']>>;
  readonly re2: () => Promise<NonNullable<ParsePolicyOptions['regex']>>;
}

const IMPORTED_PARTS: LazyPolicyParts = {
  yaml: async () => (await import('../core/strict-yaml.js')).parseStrictYaml,
  re2: async () => (await import('re2js')).RE2JS,
};

export async function loadPolicyFileLazily(file: string, parts: LazyPolicyParts = IMPORTED_PARTS): Promise<CompiledPolicy> {
  const text = readPolicyText(file);
  const base = policyFileOptions(file);
  const options: ParsePolicyOptions = base.format === 'json' ? base : { ...base, parseYaml: await parts.yaml() };
  const parsed = parsePolicyText(text, options);
  if (!policyUsesRegex(parsed)) return compileParsedPolicy(parsed, options);
  return compileParsedPolicy(parsed, { ...options, regex: await parts.re2() });
}
