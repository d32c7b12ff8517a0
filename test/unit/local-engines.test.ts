// The local engines are optional packages, loaded on first use: a missing one is named with the
// command that installs it; a broken one (a package it requires is missing) is shown as it is,
// not mistaken for the engine's absence.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isMissingPackage } from '../../local/dynamodb.js';

const dir = mkdtempSync(join(tmpdir(), 'ses-bouncer-engines-'));
mkdirSync(join(dir, 'node_modules', 'broken-engine'), { recursive: true });
writeFileSync(join(dir, 'node_modules', 'broken-engine', 'index.js'), "require('a-dependency-not-installed');\n");
const requireThere = createRequire(join(dir, 'app.js'));

function failure(name: string): unknown {
  try {
    requireThere(name);
  } catch (error) {
    return error;
  }
  throw new Error(`${name} loaded`);
}

describe('isMissingPackage', () => {
  test('an engine that is not installed', () => {
    expect(isMissingPackage(failure('absent-engine'), 'absent-engine')).toBe(true);
  });

  test('an engine that is installed but cannot load what it requires', () => {
    const error = failure('broken-engine');
    expect((error as NodeJS.ErrnoException).code).toBe('MODULE_NOT_FOUND');
    expect(isMissingPackage(error, 'broken-engine')).toBe(false);
  });

  test('any other failure', () => {
    expect(isMissingPackage(new Error('boom'), 'dynalite')).toBe(false);
    expect(isMissingPackage(undefined, 'dynalite')).toBe(false);
  });
});
