import { ESLint, Linter } from 'eslint';
import { fileURLToPath } from 'node:url';
import tseslint from 'typescript-eslint';
import { describe, expect, it } from 'vitest';

// The layer rule (no-restricted-imports per folder in eslint.config.js), as the lint configures it
// for a file in each layer, applied to one import line.
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const eslint = new ESLint({ cwd: ROOT });
const linter = new Linter({ configType: 'flat' });

async function violations(file: string, code: string, ruleName = 'no-restricted-imports'): Promise<string[]> {
  const config = (await eslint.calculateConfigForFile(file)) as { rules?: Record<string, Linter.RuleEntry> };
  const rule = config.rules?.[ruleName];
  if (rule === undefined) return [];
  const messages = linter.verify(
    code,
    { files: ['**/*.ts'], languageOptions: { parser: tseslint.parser }, rules: { [ruleName]: rule } },
    file,
  );
  return messages.map((m) => m.message);
}

describe('layers: the lint refuses an import from a higher layer', () => {
  it.each([
    ['src/http/probe.ts', "import { signUp } from '../users/users.service.ts';"],
    ['src/http/probe.ts', "import { logIn } from '../sessions/sessions.service.ts';"],
    ['src/auth/probe.ts', "import { gatewayUser } from '../users/users.service.ts';"],
    ['src/auth/probe.ts', "import type { AppDeps } from '../http/app-deps.ts';"],
    ['src/db/probe.ts', "import type { Caller } from '../auth/caller.ts';"],
    ['src/users/probe.ts', "import { logIn } from '../sessions/sessions.service.ts';"],
    ['src/projects/probe.ts', "import { sessionsRoutes } from '../sessions/sessions.routes.ts';"],
    ['src/http/probe.ts', "import { createApp } from '../app.ts';"],
    ['src/mail/probe.ts', "import { signUp } from '../users/users.service.ts';"],
    ['src/mail/probe.ts', "import { sql } from '../db/transaction.ts';"],
    ['src/db/probe.ts', "import { Outbox } from '../mail/mailer.ts';"],
    ['src/errors/probe.ts', "import { renderError } from '../http/render-error.ts';"],
    ['src/errors/probe.ts', "import { sqlState } from '../db/driver-errors.ts';"],
    ['src/db/probe.ts', "import { renderError } from '../http/render-error.ts';"],
    ['src/db/probe.ts', "import { titleKey } from '../projects/projects.service.ts';"],
    ['src/config.ts', "import { AppError } from './errors/app-error.ts';"],
    ['src/projects/probe.ts', "import { runMaintenance } from '../maintenance.ts';"],
    ['src/users/probe.ts', "import { handler } from '../entry/lambda.ts';"],
  ])('%s: %s', async (file, line) => {
    const found = await violations(file, line);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/may not import .*docs\/architecture\.md/);
  });

  it.each([
    ['src/http/probe.ts', "import { sqlState } from '../db/driver-errors.ts';"],
    ['src/http/probe.ts', "import { AppError } from '../errors/app-error.ts';"],
    ['src/users/probe.ts', "import { endOtherSessions } from '../auth/auth.service.ts';"],
    ['src/http/probe.ts', "import type { Caller } from '../auth/caller.ts';"],
    ['src/sessions/probe.ts', "import { findUserByLogin } from '../users/users.repository.ts';"],
    ['src/sessions/probe.ts', "import type { AppDeps } from '../http/app-deps.ts';"],
    ['src/maintenance.ts', "import { purgeExpiredKeys } from './idempotency/idempotency.repository.ts';"],
  ])('allows %s: %s', async (file, line) => {
    expect(await violations(file, line)).toEqual([]);
  });
});

describe("route handlers: the lint refuses the app's pool where the request's db belongs", () => {
  it.each([
    'export const f = (deps: { db: unknown }) => deps.db;',
    'export function f(deps: { db: unknown }) { const { db } = deps; return db; }',
    'export function f({ db }: { db: unknown }) { return db; }',
  ])('src/projects/projects.routes.ts: %s', async (code) => {
    const found = await violations('src/projects/projects.routes.ts', code, 'no-restricted-syntax');
    expect(found).toEqual([expect.stringContaining("c.get('db')")]);
  });

  it("allows c.get('db') in a route file, and deps.db in a middleware", async () => {
    expect(
      await violations('src/projects/projects.routes.ts', "export const f = (c: any) => c.get('db');", 'no-restricted-syntax'),
    ).toEqual([]);
    expect(
      await violations('src/idempotency/idempotency.middleware.ts', 'export const f = (deps: any) => deps.db;', 'no-restricted-syntax'),
    ).toEqual([]);
  });
});
