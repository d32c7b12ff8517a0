// Policy files as users write them: YAML or JSON, synchronously, with every engine loaded (the
// CLI, the CDK app, tests). The compiler itself (policy-compiler.ts) imports neither the YAML
// parser nor the RE2 engine, so that the receipt Lambda initialises them only when its policy
// needs them (loadPolicyFileLazily).
import './re2.js';
import { loadPolicyFileWith, parsePolicyWith, type CompiledPolicy, type ParsePolicyOptions } from './policy-compiler.js';
import { parseStrictYaml } from './strict-yaml.js';

export * from './policy-compiler.js';

/** YAML policy text to its value: one document, no duplicate or reserved keys, nesting bounded (strict-yaml.ts). Throws PolicySyntaxError. */
export const parseYaml = (text: string): unknown => parseStrictYaml(text);

/** Reads, validates and compiles a policy file (YAML, or JSON by its .json extension). Throws PolicyError naming every problem. */
export function loadPolicyFile(file: string): CompiledPolicy {
  return loadPolicyFileWith(file, parseYaml);
}

/** Validates and compiles policy text (YAML unless `format: 'json'`). Throws PolicyError naming every problem. */
export function parsePolicy(text: string, options: ParsePolicyOptions): CompiledPolicy {
  return parsePolicyWith(text, { parseYaml, ...options });
}
