import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier/flat';

export default tseslint.config(
  { ignores: ['node_modules/', '.services/', 'coverage/', 'tools/', 'packages/*/dist/', 'dashboard/dist/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        fetch: 'readonly',
        AbortSignal: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-control-regex': 'off',
    },
  },
  {
    // The ingestion package is imported through its public face only (subgraphs/cases/ingestion/index.ts).
    files: ['gateway/**/*.ts', 'scripts/**/*.ts', 'bench/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/subgraphs/cases/ingestion/*', '!**/subgraphs/cases/ingestion/index.js'],
              message: 'Import the ingestion package through subgraphs/cases/ingestion/index.js, its public face.',
            },
          ],
        },
      ],
    },
  },
  // Last: turns off the stylistic rules that would fight Prettier (max-len among them)...
  prettier,
  // ...so max-len comes after it. Prettier breaks what it can at 120; this catches what it cannot
  // (long strings, template literals, comments).
  {
    files: ['**/*.ts', '**/*.tsx', '**/*.js'],
    rules: {
      'max-len': ['error', { code: 120, ignoreUrls: true }],
    },
  },
  // Written by graphql-codegen (npm run dashboard:codegen): its doc comments are the schema's.
  { files: ['dashboard/src/generated/**'], rules: { 'max-len': 'off' } },
);
