// The Lambda handlers the construct deploys, and where their prebuilt bundles are. The package
// ships them bundled (`npm run build`: scripts/bundle-handlers.ts), so a CDK app that uses the
// construct synthesizes with no esbuild, no Docker and none of this repository's sources; this
// repository's own app and tests use the same bundles.
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The Lambda runtime of every function, the one source for it: the construct deploys on it
 * (lib/bundled-function.ts) and the bundles are built for its Node.js (scripts/bundle-handlers.ts).
 * The current Node.js LTS: 20 is past end of life, 22 in maintenance.
 */
export const LAMBDA_RUNTIME = 'nodejs24.x';

/** esbuild's name for the runtime's Node.js: `node24` for `nodejs24.x`. */
export const ESBUILD_TARGET = LAMBDA_RUNTIME.replace(/^nodejs(\d+)\.x$/, 'node$1');

/** Each handler, by the entry file it is bundled from (a path from the package root). */
export const HANDLER_ENTRIES = {
  receipt: 'lambda/receipt.ts',
  deliver: 'lambda/deliver.ts',
  audit: 'lambda/audit.ts',
  'rule-set-activation': 'lib/rule-set-activation.handler.ts',
} as const;
export type HandlerName = keyof typeof HANDLER_ENTRIES;

/** Handlers that leave the AWS SDK to the runtime: the activation runs once per deployment (docs/decisions.md 6). */
export const SDK_FROM_RUNTIME: ReadonlySet<HandlerName> = new Set(['rule-set-activation']);

/** Where the bundles are: `dist/handlers` beside the compiled `dist/lib`, or of the checkout when this runs from `lib/` sources. */
export function handlersDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return basename(dirname(here)) === 'dist' ? join(here, '..', 'handlers') : join(here, '..', 'dist', 'handlers');
}

/** The directory holding one handler's `index.js`; a clear error when the package was not built. */
export function handlerBundleDir(name: HandlerName): string {
  const dir = join(handlersDir(), name);
  if (!existsSync(join(dir, 'index.js'))) {
    throw new Error(`ses-bouncer: the prebuilt ${name} handler is missing (${join(dir, 'index.js')}); in a checkout of the repository, run \`npm run build\``);
  }
  return dir;
}
