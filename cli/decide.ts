import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { decide, parseSesEvent, type CompiledPolicy } from '../lambda/core/index.js';
import { ExitCode, type CliIo } from './io.js';

/**
 * `ses-bouncer decide`: one JSON line per record, `{"error": …}` in place of a record or file
 * that cannot be decided (exit 1, the rest still print). Pure: no AWS, no network.
 */
export function runDecide(policy: CompiledPolicy, paths: readonly string[], now: Date, io: CliIo): ExitCode {
  let failed = false;
  for (const file of expandPaths(paths)) {
    const payload = readJson(file);
    if ('error' in payload) {
      io.stdout(JSON.stringify({ error: payload.error }));
      failed = true;
      continue;
    }
    for (const result of parseSesEvent(payload.value)) {
      if (result.ok) io.stdout(JSON.stringify(decide(result.record, policy, now)));
      else {
        io.stdout(JSON.stringify({ error: `${file}: ${result.error}` }));
        failed = true;
      }
    }
  }
  return failed ? ExitCode.Failed : ExitCode.Ok;
}

/** A directory stands for the .json files in it, in name order. */
export function expandPaths(paths: readonly string[]): string[] {
  return paths.flatMap((path) => {
    try {
      if (!statSync(path).isDirectory()) return [path];
    } catch {
      return [path]; // reported when it is read
    }
    return readdirSync(path)
      .filter((name) => name.endsWith('.json'))
      .sort()
      .map((name) => join(path, name));
  });
}

function readJson(file: string): { value: unknown } | { error: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    return { error: `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}` };
  }
  try {
    return { value: JSON.parse(text) };
  } catch (error) {
    return { error: `${file}: not valid JSON: ${(error as Error).message}` };
  }
}
