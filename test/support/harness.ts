import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import type { Kysely, LogEvent } from 'kysely';
import { inject } from 'vitest';
import { createApp, type App, type CreateAppOptions } from '../../src/app.ts';
import { LIMITS_OFF, loadConfig } from '../../src/config.ts';
import { createDb, type CreateDbOptions, type Database } from '../../src/db/database.ts';
import type { DB } from '../../src/db/schema.ts';
import { createLogger } from '../../src/logger.ts';
import { migrate } from '../../src/db/migrations.ts';
import { createCitusDatabase, dropCitusDatabase } from './citus.ts';
import { runStatement } from './pg-client.ts';
import { databaseUrl } from './postgres-url.ts';

/** A fresh migrated database for one test file, recording the SQL of every query it runs. */
export interface TestDatabase {
  database: Database;
  /** Where another client can reach this database; only PostgreSQL can be shared. */
  url: string | undefined;
  /**
   * The same database without the pooler that `url` may go through: for what must see or end the
   * real backends (pg_stat_activity, pg_locks, pg_terminate_backend). Equal to `url` without one.
   */
  directUrl: string | undefined;
  queries: string[];
  /** The same queries with their parameters, to run again (EXPLAIN). */
  statements: { sql: string; parameters: readonly unknown[] }[];
  close(): Promise<void>;
}

/** Whether this run's tests have a PostgreSQL server (TEST_DATABASE_URL), not only PGlite. */
export function onPostgres(): boolean {
  return inject('testDatabase').kind === 'postgres';
}

/**
 * A query of the backends of the current database waiting on a lock (`pid`, `application_name`),
 * run on the server the test's direct URL reaches. On Citus a statement waits on the worker that
 * holds its shard, and its coordinator backend shows a client wait: the cluster's lock-wait view
 * names it (a global PID is the node id × 10^10 + the PID).
 */
export function lockWaiters(): string {
  const waiting = onCitus() ? `or pid in (select (waiting_gpid % 10000000000)::int from citus_lock_waits)` : '';
  return `select pid, application_name from pg_stat_activity
    where datname = current_database() and (wait_event_type = 'Lock' ${waiting})`;
}

/**
 * A query of the locks backends of the current database wait for (`pid`, `locktype`), wherever
 * they are held: on Citus, the cluster's lock view, whose global PIDs name the coordinator's
 * backends.
 */
export function ungrantedLocks(): string {
  const locks = onCitus() ? `(select locktype, granted, (global_pid % 10000000000)::int as pid from citus_locks)` : 'pg_locks';
  return `select l.pid, l.locktype from ${locks} l join pg_stat_activity a on a.pid = l.pid
    where not l.granted and a.datname = current_database()`;
}

/** Whether that server is a Citus coordinator, whose test databases are distributed. */
export function onCitus(): boolean {
  const spec = inject('testDatabase');
  return spec.kind === 'postgres' && spec.citusWorkers !== undefined;
}

export type TestDbOptions = Pick<
  CreateDbOptions,
  'max' | 'acquireTimeoutMs' | 'statementTimeoutMs' | 'preparedStatements' | 'onIdleError' | 'log'
>;

/** Clones the run's migrated database: a PGlite dump, or a PostgreSQL template database. */
export async function openTestDatabase(options: TestDbOptions = {}): Promise<TestDatabase> {
  const spec = inject('testDatabase');
  const queries: string[] = [];
  const statements: TestDatabase['statements'] = [];
  const log = (event: LogEvent) => {
    queries.push(event.query.sql);
    statements.push({ sql: event.query.sql, parameters: event.query.parameters });
    options.log?.(event);
  };
  if (spec.kind === 'pglite') {
    const database = await createDb('pglite://memory', { ...options, loadDataDir: new Blob([readFileSync(spec.dumpPath)]), log });
    return { database, url: undefined, directUrl: undefined, queries, statements, close: () => database.close() };
  }
  const name = `projects_api_t_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  const workers = spec.citusWorkers;
  if (workers) {
    await createCitusDatabase(spec.adminUrl, workers, name);
    const migrating = await createDb(databaseUrl(spec.adminUrl, name), { max: 1 });
    await migrate(migrating.db).finally(() => migrating.close());
  } else {
    await runStatement(spec.adminUrl, `create database ${name} template ${spec.template}`);
  }
  const url = databaseUrl(spec.appUrl, name);
  const database = await createDb(url, { ...options, log });
  return {
    database,
    url,
    directUrl: databaseUrl(spec.adminUrl, name),
    queries,
    statements,
    close: async () => {
      await database.close();
      if (workers) await dropCitusDatabase(spec.adminUrl, workers, name);
      else await runStatement(spec.adminUrl, `drop database if exists ${name} with (force)`);
    },
  };
}

/**
 * A database no migration has touched, for a test that seeds what an older schema held:
 * in-memory PGlite, or a new database on the server (on Citus, the coordinator's alone).
 */
export async function openUnmigratedDatabase(): Promise<{ database: Database; close(): Promise<void> }> {
  const spec = inject('testDatabase');
  if (spec.kind === 'pglite') {
    const database = await createDb('pglite://memory');
    return { database, close: () => database.close() };
  }
  const name = `projects_api_u_${randomUUID().replaceAll('-', '').slice(0, 12)}`;
  await runStatement(spec.adminUrl, `create database ${name}`);
  const database = await createDb(databaseUrl(spec.appUrl, name));
  return {
    database,
    close: async () => {
      await database.close();
      await runStatement(spec.adminUrl, `drop database if exists ${name} with (force)`);
    },
  };
}

export interface TestResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON when the response is JSON, else the text. */
  body: any;
}

export interface RequestOptions {
  json?: unknown;
  body?: NonNullable<RequestInit['body']>;
  token?: string;
  headers?: Record<string, string>;
}

let sequence = 0;

/** A username nobody in this run has used yet. */
export function uniqueName(prefix = 'u'): string {
  sequence += 1;
  return `${prefix}${Date.now().toString(36)}${sequence.toString(36)}${Math.floor(Math.random() * 1e4).toString(36)}`;
}

/** The app on a fresh database, driven in-process through HTTP. */
export class TestApp {
  constructor(
    readonly app: App,
    readonly testDb: TestDatabase,
    /** Every log line the app wrote, parsed. */
    readonly logs: Record<string, unknown>[],
  ) {}

  get db() {
    return this.testDb.database.db;
  }

  async request(method: string, path: string, options: RequestOptions = {}): Promise<TestResponse> {
    const headers: Record<string, string> = { ...options.headers };
    let body = options.body;
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers['content-type'] ??= 'application/json';
    }
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    const res = await this.app.request(path, { method, headers, ...(body !== undefined && { body }) });
    const text = await res.text();
    const type = res.headers.get('content-type') ?? '';
    return { status: res.status, headers: res.headers, body: type.includes('json') && text ? JSON.parse(text) : text };
  }

  /** Signs up a new user; returns the response body's user and the password used. */
  async signUp(fields: Partial<Record<'username' | 'email' | 'nickname' | 'password', string>> = {}) {
    const username = fields.username ?? uniqueName();
    const input = {
      username,
      email: fields.email ?? `${username}@example.com`,
      nickname: fields.nickname ?? '테스터',
      password: fields.password ?? 'password-123',
    };
    const res = await this.request('POST', '/api/users', { json: input });
    if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${JSON.stringify(res.body)}`);
    return { user: res.body.data as { id: string; username: string; email: string }, password: input.password };
  }

  async logIn(login: string, password: string): Promise<string> {
    const res = await this.request('POST', '/api/sessions', { json: { login, password } });
    if (res.status !== 201) throw new Error(`login failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.data.token as string;
  }

  /** A new user with a live session. */
  async newUser() {
    const { user, password } = await this.signUp();
    return { user, password, token: await this.logIn(user.username, password) };
  }

  async createProject(token: string, title: string, description?: string) {
    const res = await this.request('POST', '/api/projects', { token, json: { title, description } });
    if (res.status !== 201) throw new Error(`create failed: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.data as { id: string; title: string; version: number };
  }

  close(): Promise<void> {
    return this.testDb.close();
  }
}

/** The peer address a test claims, the way the Node entry reports the socket's. */
export const TEST_CLIENT_IP_HEADER = 'x-test-client-ip';

/** Builds the app on a fresh database with the given environment on top of the defaults. */
export async function startTestApp(
  env: Record<string, string> = {},
  options: TestDbOptions = {},
  appOptions: Partial<CreateAppOptions> = {},
): Promise<TestApp> {
  const testDb = await openTestDatabase(options);
  return testAppOn(testDb, testDb.database.db, env, appOptions);
}

/**
 * The app serving through `db` (another pool on the same database, e.g. a second instance or one
 * with faults injected), while `testDb` stays the test's own view of the database.
 */
export function testAppOn(
  testDb: TestDatabase,
  db: Kysely<DB>,
  env: Record<string, string> = {},
  appOptions: Partial<CreateAppOptions> = {},
): TestApp {
  // Limits are off unless a test sets them.
  // Mail with no SMTP_URL is written as files: outside the repository, where nothing reads them.
  const config = loadConfig({
    ...LIMITS_OFF,
    MAIL_DIR: join(tmpdir(), 'projects-api-test-mail'),
    ...env,
    DATABASE_URL: env.DATABASE_URL ?? 'pglite://memory',
  });
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger('info', { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) });
  const socketAddress = (c: { req: { header(name: string): string | undefined } }) => c.req.header(TEST_CLIENT_IP_HEADER);
  return new TestApp(createApp({ db, config, logger, socketAddress, ...appOptions }), testDb, logs);
}
