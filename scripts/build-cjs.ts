// The package's CommonJS entry (`require('ses-bouncer')`), beside the ES modules tsc emits: one
// file bundled by esbuild from lib/index.ts, every package left to `require` (the consumer's
// aws-cdk-lib and constructs, our dependencies), and declarations for it (`.d.cts`, copies of
// the `.d.ts` the API reaches, whose imports name `.cjs`). Without it, a CommonJS CDK app's Jest tests (the
// layout `cdk init` makes) cannot load the package on Node.js before 24.9, and TypeScript
// refuses the import in a CommonJS file under `module: node16` (TS1479).
import { readFileSync, writeFileSync } from 'node:fs';
import { join, posix, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { repositoryRoot } from './bundle-handlers.js';

/** A relative import of a declaration file: `from './x.js'`, `import('./x.js')`. */
const RELATIVE_IMPORT = /(\bfrom\s*|\bimport\s*\(\s*)(['"])(\.{1,2}\/[^'"]+)\.js\2/g;

/** The Node.js the package runs on at synth (package.json engines). */
const CJS_TARGET = 'node20';

/** Bundles `dist/lib/index.cjs` and writes a `.d.cts` beside every `.d.ts` under `dist`. */
export async function buildCommonJs(root: string): Promise<void> {
  await build({
    entryPoints: [join(root, 'lib', 'index.ts')],
    outfile: join(root, 'dist', 'lib', 'index.cjs'),
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: CJS_TARGET,
    packages: 'external',
    absWorkingDir: root,
    // lib/handlers.ts finds the bundles from its own location: in CommonJS, from __filename.
    define: { 'import.meta.url': '__import_meta_url' },
    banner: { js: `"use strict";\nconst __import_meta_url = require('node:url').pathToFileURL(__filename).href;` },
    logLevel: 'error',
  });
  // The declarations the API reaches from index.d.ts, each as a .d.cts importing .cjs names.
  const dist = join(root, 'dist');
  const pending = ['lib/index.d.ts'];
  const done = new Set<string>();
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (done.has(file)) continue;
    done.add(file);
    const text = readFileSync(join(dist, file), 'utf8');
    for (const match of text.matchAll(RELATIVE_IMPORT)) pending.push(posix.normalize(posix.join(posix.dirname(file), match[3]!)) + '.d.ts');
    writeFileSync(join(dist, file.replace(/\.d\.ts$/, '.d.cts')), text.replace(RELATIVE_IMPORT, '$1$2$3.cjs$2'));
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) await buildCommonJs(repositoryRoot());
