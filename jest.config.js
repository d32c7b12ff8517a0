// The project is ESM ("type": "module") because middy 6 is ESM-only; jest runs it natively
// with --experimental-vm-modules (see the "test" script) and @swc/jest strips the types.
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: 'es6' },
        sourceMaps: 'inline',
      },
    ],
  },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testTimeout: 30000,
  // The construct deploys the prebuilt handler bundles, as it does for a user of the package: make
  // them from the sources under test first.
  globalSetup: '<rootDir>/test/support/bundle-handlers.global.js',
};
