import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { createDb } from '../../src/db/database.ts';
import { migrate } from '../../src/db/migrations.ts';
import { citusWorkers } from './citus.ts';
import { buildLambdaArtifact, type LambdaArtifact } from './lambda.ts';
import { runStatement } from './pg-client.ts';
import { databaseUrl } from './postgres-url.ts';

/**
 * On PostgreSQL, `appUrl` is how the app and the tests' own queries reach the server (a pooler in
 * one CI run) and `adminUrl` reaches it directly: creating and dropping databases, and seeing or
 * ending the real backends, which a pooler hides.
 */
export type TestDatabase =
  | { kind: 'pglite'; dumpPath: string }
  | { kind: 'postgres'; adminUrl: string; appUrl: string; template: string; citusWorkers?: undefined }
  // A Citus coordinator: every test file gets a database of its own on every node, migrated.
  | { kind: 'postgres'; adminUrl: string; appUrl: string; template?: undefined; citusWorkers: string[] };

declare module 'vitest' {
  export interface ProvidedContext {
    testDatabase: TestDatabase;
    lambdaArtifact: LambdaArtifact;
  }
}

/**
 * Once per run: builds the Lambda artifact and copies it to a folder outside the repository, and
 * prepares the database each test file clones.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const artifact = buildLambdaArtifact();
  project.provide('lambdaArtifact', artifact);
  const teardownDatabase = await setupDatabase(project);
  return async () => {
    rmSync(artifact.root, { recursive: true, force: true });
    await teardownDatabase();
  };
}

/**
 * Migrates once per run: on PGlite into a data-directory dump each test file loads (initdb costs
 * seconds, loading a dump a fraction of one); on PostgreSQL (TEST_DATABASE_URL) into a template
 * database each test file clones. TEST_ADMIN_DATABASE_URL, when set, is the same server reached
 * directly (TEST_DATABASE_URL then names a pooler in front of it). A Citus coordinator is told
 * by its citus extension.
 */
async function setupDatabase(project: TestProject): Promise<() => Promise<void>> {
  const appUrl = process.env.TEST_DATABASE_URL;
  if (appUrl) {
    const adminUrl = process.env.TEST_ADMIN_DATABASE_URL ?? appUrl;
    const workers = await citusWorkers(adminUrl);
    if (workers) {
      project.provide('testDatabase', { kind: 'postgres', adminUrl, appUrl, citusWorkers: workers });
      return () => Promise.resolve();
    }
    const template = `projects_api_tpl_${process.pid}_${Date.now()}`;
    await runStatement(adminUrl, `create database ${template}`);
    const database = await createDb(databaseUrl(adminUrl, template), { max: 1 });
    await migrate(database.db);
    await database.close();
    project.provide('testDatabase', { kind: 'postgres', adminUrl, appUrl, template });
    return () => runStatement(adminUrl, `drop database if exists ${template} with (force)`);
  }
  const database = await createDb('pglite://memory');
  if (database.kind !== 'pglite') throw new Error('expected PGlite');
  await migrate(database.db);
  const dump = await database.pglite.dumpDataDir('none');
  await database.close();
  const dir = mkdtempSync(join(tmpdir(), 'projects-api-test-'));
  const dumpPath = join(dir, 'migrated.tar');
  writeFileSync(dumpPath, Buffer.from(await dump.arrayBuffer()));
  project.provide('testDatabase', { kind: 'pglite', dumpPath });
  return () => {
    rmSync(dir, { recursive: true, force: true });
    return Promise.resolve();
  };
}
