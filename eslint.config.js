import js from '@eslint/js';
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

// The layers of src/ (docs/architecture.md): each may import only the layers below it. A relative
// import that climbs into a folder (or top-level module) of a higher layer fails the lint. src/auth
// (who is calling) sits between src/db and src/http.
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
    ['src/config.ts', 'src/logger.ts', 'src/canonical.ts', 'src/database-url.ts'],
    ['errors', 'db', 'observability', 'mail', 'auth', 'http', ...FEATURES, ...TOP],
    'config.ts, logger.ts, canonical.ts and database-url.ts',
  ),
  layer(['src/errors/**'], ['db', 'observability', 'mail', 'auth', 'http', ...FEATURES, ...TOP], 'src/errors'),
  layer(['src/db/**'], ['errors', 'mail', 'auth', 'http', ...FEATURES, ...TOP], 'src/db'),
  // Metrics and traces: below src/auth and src/http (which wire them in), above src/db and
  // src/errors (whose errors they classify).
  layer(['src/observability/**'], ['mail', 'auth', 'http', ...FEATURES, ...TOP], 'src/observability'),
  // Mail (transport, outbox, texts): beside src/observability, below what asks for mail.
  layer(['src/mail/**'], ['db', 'observability', 'auth', 'http', ...FEATURES, ...TOP], 'src/mail'),
  layer(['src/auth/**'], ['http', ...FEATURES, ...TOP], 'src/auth'),
  layer(['src/http/**'], [...FEATURES, ...TOP], 'src/http'),
  // Login and logout stand above users (they check a password); nothing else reaches them.
  layer(['src/sessions/**'], TOP, 'src/sessions'),
  layer(
    FEATURES.filter((f) => f !== 'sessions').map((f) => `src/${f}/**`),
    ['sessions', ...TOP],
    'A feature folder',
  ),
  {
    // A handler that used the app's pool (deps.db) instead of the request's db would write outside
    // a keyed request's transaction: its write could commit without its recorded outcome.
    files: ['src/**/*.routes.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[property.name='db']:not([object.type='CallExpression'])",
          message: "Route handlers run their queries on the request's db: c.get('db'), never deps.db.",
        },
        {
          selector: "VariableDeclarator > ObjectPattern > Property[key.name='db']",
          message: "Route handlers run their queries on the request's db: c.get('db'), never deps.db.",
        },
        {
          selector: "FunctionDeclaration > ObjectPattern.params > Property[key.name='db']",
          message: "Route handlers run their queries on the request's db: c.get('db'), never deps.db.",
        },
      ],
    },
  },
  {
    files: ['src/config.ts', 'test/**', 'vitest.config.ts', 'scripts/**', 'bench/**', 'examples/**'],
    rules: { 'no-restricted-properties': 'off' },
  },
);
