// ESLint: the recommended rules and typescript-eslint's recommended type-checked ones, run by
// `npm test` (`npm run lint`), zero warnings allowed.
import eslint from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['dist/', 'out/', 'cdk.out/', 'coverage/', 'node_modules/'] },
  eslint.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  { languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } } },
  {
    rules: {
      // Removing control characters from hostile input is what these expressions are for.
      'no-control-regex': 'off',
      // Ports are async interfaces; an in-memory or synchronous implementation has nothing to
      // await, and `async` keeps its throws rejections, as callers expect.
      '@typescript-eslint/require-await': 'off',
      // `_name` and rest siblings are how a value is left out on purpose.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    // Tests and benchmarks build and inspect raw SES events, CloudFormation templates and wire
    // bodies as untyped JSON on purpose (hostile input has no type); production code may not.
    files: ['test/**', 'bench/**'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
  // Plain JavaScript files (configs, Jest's global setup) run on Node.js, outside the TypeScript project.
  { files: ['**/*.js'], extends: [tseslint.configs.disableTypeChecked], languageOptions: { globals: { URL: 'readonly', process: 'readonly' } } },
);
