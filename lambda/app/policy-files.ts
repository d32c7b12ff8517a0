import { dirname, extname, resolve } from 'node:path';
import { PolicyError } from '../core/errors.js';
import type { ParsePolicyOptions } from '../core/policy-compiler.js';
import { FileLimitError, readTextFileBounded } from './bounded-file.js';

// Reading the files a policy names (docs/policy.md "Lists"): the policy itself may be a pipe
// (`check <(generate-policy)`), a list file must be a regular file; neither is read past
// MAX_FILE_BYTES, so `check /dev/zero` ends at once.

/** The policy file's text. Throws PolicyError when it cannot be read. */
export function readPolicyText(file: string): string {
  try {
    return readTextFileBounded(file, { regularOnly: false });
  } catch (error) {
    const reason = error instanceof FileLimitError ? error.message : ((error as NodeJS.ErrnoException).code ?? String(error));
    throw new PolicyError(file, [{ path: '', message: `cannot read ${file}: ${reason}` }], { cause: error });
  }
}

/** The compiler's options for a policy file: its name, its format by extension, and its list files, named relative to it. */
export function policyFileOptions(file: string): ParsePolicyOptions {
  const baseDir = dirname(resolve(file));
  return {
    fileName: file,
    format: extname(file).toLowerCase() === '.json' ? 'json' : 'yaml',
    readListFile: (name) => readTextFileBounded(resolve(baseDir, name), { regularOnly: true }),
  };
}
