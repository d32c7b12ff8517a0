// Bundles every Lambda handler for the package (dist/handlers/<name>/index.js), with esbuild, from
// the TypeScript sources: `npm run build` runs it, and so do the tests before they synthesize, so
// that the construct always deploys the code it was tested with. The runtime's Node.js, CJS,
// minified, the AWS SDK bundled (docs/decisions.md 6), `module` before `main` so that esbuild takes
// the SDK's ES builds and tree-shakes them, and a source map without sources for mapping a stack
// offline (not enabled at run time, where Node.js would parse it at every cold start).
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type BuildOptions } from 'esbuild';
import { ESBUILD_TARGET, HANDLER_ENTRIES, SDK_FROM_RUNTIME, type HandlerName } from '../lib/handlers.js';

/** The options every bundle is built with; the cold-start benchmark bundles its floors with them too. */
export function handlerBuildOptions(root: string): BuildOptions {
  return {
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: ESBUILD_TARGET,
    minify: true,
    sourcemap: true,
    sourcesContent: false,
    mainFields: ['module', 'main'],
    absWorkingDir: root,
    nodePaths: [join(root, 'node_modules')],
    logLevel: 'silent',
  };
}

/** Bundles every handler into `outDir/<name>/index.js`. */
export async function bundleHandlers(root: string, outDir: string): Promise<void> {
  await Promise.all(
    (Object.entries(HANDLER_ENTRIES) as [HandlerName, string][]).map(async ([name, entry]) => {
      mkdirSync(join(outDir, name), { recursive: true });
      await build({
        ...handlerBuildOptions(root),
        entryPoints: [join(root, entry)],
        outfile: join(outDir, name, 'index.js'),
        external: SDK_FROM_RUNTIME.has(name) ? ['@aws-sdk/*'] : [],
      });
    }),
  );
}

/** The repository root (this file is in scripts/). */
export function repositoryRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..');
}

// `bundle-handlers [OUT_DIR]`: dist/handlers by default.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const root = repositoryRoot();
  await bundleHandlers(root, resolve(process.argv[2] ?? join(root, 'dist', 'handlers')));
}
