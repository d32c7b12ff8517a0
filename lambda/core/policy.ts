// Policy files as users write them: YAML or JSON. The compiler itself (policy-compiler.ts) does
// not import the YAML parser, so that the receipt Lambda, which loads its bundled JSON policy,
// neither bundles nor initialises it.
import YAML from 'yaml';
import { loadPolicyFileWith, parsePolicyWith, type CompiledPolicy, type ParsePolicyOptions } from './policy-compiler.js';

export * from './policy-compiler.js';

const parseYaml = (text: string): unknown => YAML.parse(text, { uniqueKeys: true, prettyErrors: true });

/** Reads, validates and compiles a policy file (YAML, or JSON by its .json extension). Throws PolicyError naming every problem. */
export function loadPolicyFile(file: string): CompiledPolicy {
  return loadPolicyFileWith(file, parseYaml);
}

/** Validates and compiles policy text (YAML unless `format: 'json'`). Throws PolicyError naming every problem. */
export function parsePolicy(text: string, options: ParsePolicyOptions): CompiledPolicy {
  return parsePolicyWith(text, { parseYaml, ...options });
}
