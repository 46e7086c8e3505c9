import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

// The layers of src/ (docs/architecture.md): each may import only the layers below it. A relative
// import that climbs into a folder (or top-level module) of a higher layer fails the lint.
const FEATURES = ['users', 'sessions', 'projects', 'idempotency', 'rate-limits', 'health'];
const TOP = ['entry', 'app', 'maintenance'];

/**
 * `no-restricted-imports` for `files`: no relative import of the named folders or top-level modules.
 * @param {string[]} files
 * @param {string[]} forbidden
 * @param {string} who
 */
function layer(files, forbidden, who) {
  return {
    files,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: `^(\\.\\.?/)+(${forbidden.join('|')})(/|\\.ts$)`,
              message: `${who} may not import ${forbidden.join(', ')}: see docs/architecture.md (layers).`,
            },
          ],
        },
      ],
    },
  };
}

export default defineConfig(
  { ignores: ['node_modules', 'dist', '.data', 'coverage', 'examples/client/schema.d.ts'] },
  js.configs.recommended,
  tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['eslint.config.js', 'scripts/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unnecessary-condition': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read configuration through src/config.ts only.' },
      ],
    },
  },
  {
    // Tests read JSON bodies as `any` and assert on them; the assertions are the type check.
    files: ['test/**', 'src/**/*.test.ts', 'bench/**'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-confusing-void-expression': 'off',
    },
  },
  {
    // Hono deprecates `hono/aws-lambda` in favour of `@hono/aws-lambda`, which is not published.
    files: ['src/entry/lambda.ts', 'src/entry/lambda-event.ts'],
    rules: { '@typescript-eslint/no-deprecated': 'off' },
  },
  layer(
    ['src/config.ts', 'src/logger.ts', 'src/canonical.ts'],
    ['errors', 'db', 'http', ...FEATURES, ...TOP],
    'config.ts, logger.ts and canonical.ts',
  ),
  layer(['src/errors/**'], ['db', 'http', ...FEATURES, ...TOP], 'src/errors'),
  layer(['src/db/**'], ['errors', 'http', ...FEATURES, ...TOP], 'src/db'),
  layer(['src/http/**'], [...FEATURES, ...TOP], 'src/http'),
  layer(
    FEATURES.map((f) => `src/${f}/**`),
    TOP,
    'A feature folder',
  ),
  {
    files: ['src/config.ts', 'test/**', 'vitest.config.ts', 'scripts/**', 'bench/**', 'examples/**'],
    rules: { 'no-restricted-properties': 'off' },
  },
);
