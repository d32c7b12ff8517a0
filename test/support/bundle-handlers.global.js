// Jest global setup: the handler bundles the construct deploys (dist/handlers), made from the
// sources under test, by the package's own build step. Plain JavaScript: Jest loads it before
// any transform.
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export default function bundleHandlersForTests() {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  execFileSync(process.execPath, ['--import', 'tsx', 'scripts/bundle-handlers.ts'], { cwd: root, stdio: 'inherit' });
}
