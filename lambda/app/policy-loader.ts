// Policy files as users write them, for the CLI, the CDK app and the tests: read from disk
// (bounded), YAML or JSON by the extension, with every engine loaded. The core compiles text and
// does no I/O (lambda/core/policy-compiler.ts); the receipt function loads its engines only when
// its policy needs them (policy-loader-lazy.ts).
import { RE2JS } from 're2js';
import { parsePolicyWith, type CompiledPolicy, type ParsePolicyOptions } from '../core/policy-compiler.js';
import { parseStrictYaml } from '../core/strict-yaml.js';
import { policyFileOptions, readPolicyText } from './policy-files.js';

export type { CompiledPolicy } from '../core/policy-compiler.js';

/** Reads, validates and compiles a policy file (YAML, or JSON by its .json extension). Throws PolicyError naming every problem. */
export function loadPolicyFile(file: string): CompiledPolicy {
  return parsePolicyWith(readPolicyText(file), { ...policyFileOptions(file), parseYaml: parseStrictYaml, regex: RE2JS });
}

/** Validates and compiles policy text (YAML unless `format: 'json'`), with every engine. Throws PolicyError naming every problem. */
export function parsePolicy(text: string, options: ParsePolicyOptions): CompiledPolicy {
  return parsePolicyWith(text, { parseYaml: parseStrictYaml, regex: RE2JS, ...options });
}
