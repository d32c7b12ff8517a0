// The receipt function's and the audit's policy loader: the YAML parser and the RE2 engine
// (re2js, 147 KB) are initialised only when the policy needs them. Its bundled policy is JSON,
// and most policies have no regular expression, so most cold starts load neither. This module
// imports them only dynamically; lambda/app/policy-loader.ts is the eager one.
import { compileParsedPolicy, parsePolicyText, policyUsesRegex, type CompiledPolicy, type ParsePolicyOptions } from '../core/policy-compiler.js';
import { policyFileOptions, readPolicyText } from './policy-files.js';

export async function loadPolicyFileLazily(file: string): Promise<CompiledPolicy> {
  const text = readPolicyText(file);
  const base = policyFileOptions(file);
  const options: ParsePolicyOptions = base.format === 'json' ? base : { ...base, parseYaml: (await import('../core/strict-yaml.js')).parseStrictYaml };
  const parsed = parsePolicyText(text, options);
  if (!policyUsesRegex(parsed)) return compileParsedPolicy(parsed, options);
  const { RE2JS } = await import('re2js');
  return compileParsedPolicy(parsed, { ...options, regex: RE2JS });
}
