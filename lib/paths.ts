import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository root: the directory holding package-lock.json above this file, whether it runs
 * from lib/ (tsx, jest) or from dist/lib/ (compiled).
 */
export const PROJECT_ROOT: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package-lock.json')) && existsSync(join(dir, 'lambda'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return resolve(dirname(fileURLToPath(import.meta.url)), '..');
    dir = parent;
  }
})();

/** A TypeScript source of the project, by its path from the root (`lambda/receipt.ts`). */
export function sourceFile(relative: string): string {
  return join(PROJECT_ROOT, relative);
}
