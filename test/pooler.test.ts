import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDb, type CreateDbOptions, type Database } from '../src/db/database.ts';
import { migrate, pendingMigrations } from '../src/db/migrations.ts';
import { CANCEL_GRACE_MS } from '../src/db/statement-bound.ts';
import {
  onPostgres,
  openTestDatabase,
  testAppOn,
  uniqueName,
  type TestApp,
  type TestDatabase,
  type TestResponse,
} from './support/harness.ts';
import { connectClient, runStatement } from './support/pg-client.ts';
import { canRunPgBouncer, PgBouncer } from './support/pgbouncer.ts';
import { databaseUrl } from './support/postgres-url.ts';

const withPooler = onPostgres() && canRunPgBouncer();
if (!onPostgres()) console.warn('pooler tests skipped: they need a PostgreSQL server (set TEST_DATABASE_URL)');
else if (!canRunPgBouncer()) console.warn('pooler tests skipped: pgbouncer is not installed');

/** The PostgreSQL server itself (not a pooler the run may go through), for PgBouncer to forward to. */
function directServer(): { host: string; port: number; adminUrl: string } {
  const spec = inject('testDatabase');
  if (spec.kind !== 'postgres') throw new Error('expected PostgreSQL');
  const url = new URL(spec.adminUrl);
  return { host: url.hostname, port: Number(url.port || 5432), adminUrl: spec.adminUrl };
}

function databaseName(testDb: TestDatabase): string {
  return new URL(testDb.directUrl!).pathname.slice(1);
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** App instances on one database through `bouncer`, each with a pool of its own. */
async function instancesOn(bouncer: PgBouncer, testDb: TestDatabase, count: number, options: CreateDbOptions) {
  const databases: Database[] = [];
  for (let i = 0; i < count; i++) {
    databases.push(await createDb(bouncer.url(databaseName(testDb)), { onIdleError: () => undefined, ...options }));
  }
  return {
    apps: databases.map((database) => testAppOn(testDb, database.db)),
    close: () => Promise.all(databases.map((database) => database.close())),
  };
}

/** What a load run saw: every response's latency, and the ones that were not what their operation allows. */
interface Tally {
  counts: Map<string, number>;
  wrong: string[];
  serverErrors: string[];
  latencies: number[];
  /** The longest time a request took to be answered 503. */
  slowest503Ms: number;
  users: Map<string, string>;
  /** Acknowledged projects: id → owner and title. */
  projects: Map<string, { owner: string; title: string }>;
  owners: Set<string>;
}

interface LoadOptions {
  workersPerApp: number;
  durationMs: number;
  /** Statuses besides an operation's own that a run may see (503 when the pool is overcommitted). */
  alsoAllowed?: number[];
}

/**
 * Users signing up, logging in, creating projects (new titles, taken titles, keyed creates sent to
 * two instances at once and retried until they succeed) and reading them, spread over `apps`, for
 * `durationMs`.
 */
async function runLoad(apps: TestApp[], options: LoadOptions): Promise<Tally> {
  const tally: Tally = {
    counts: new Map(),
    wrong: [],
    serverErrors: [],
    latencies: [],
    slowest503Ms: 0,
    users: new Map(),
    projects: new Map(),
    owners: new Set(),
  };
  const allowedExtra = new Set(options.alsoAllowed ?? []);
  const send = async (
    app: TestApp,
    op: string,
    expected: number[],
    method: string,
    path: string,
    init: Parameters<TestApp['request']>[2],
  ) => {
    const started = Date.now();
    const res = await app.request(method, path, init);
    const ms = Date.now() - started;
    tally.latencies.push(ms);
    if (res.status === 503) tally.slowest503Ms = Math.max(tally.slowest503Ms, ms);
    const key = `${op} ${res.status}`;
    tally.counts.set(key, (tally.counts.get(key) ?? 0) + 1);
    const describe = `${op} → ${res.status} ${typeof res.body === 'object' ? String(res.body?.code) : ''}`;
    if (res.status >= 500) {
      tally.serverErrors.push(describe);
      if (res.status !== 503 || res.headers.get('retry-after') !== '2' || res.body?.code !== 'SERVICE_UNAVAILABLE')
        tally.wrong.push(describe);
    }
    if (!expected.includes(res.status) && !allowedExtra.has(res.status)) tally.wrong.push(describe);
    return res;
  };
  const signup = async (app: TestApp) => {
    const username = uniqueName('pl');
    const json = { username, email: `${username}@example.com`, nickname: 'n', password: 'password-123' };
    const res = await send(app, 'signup', [201], 'POST', '/api/users', { json });
    if (res.status === 201) tally.users.set(username, res.body.data.id as string);
    return res.status === 201 ? { username, id: res.body.data.id as string } : undefined;
  };
  const login = async (app: TestApp, username: string) => {
    const res = await send(app, 'login', [201], 'POST', '/api/sessions', { json: { login: username, password: 'password-123' } });
    return res.status === 201 ? (res.body.data.token as string) : undefined;
  };

  const workers = options.workersPerApp * apps.length;
  // Every worker has its user before the clock starts, so that the timed part is mostly database
  // work rather than password hashing.
  let ready = 0;
  let deadline = Infinity;
  let start!: () => void;
  const started = new Promise<void>((resolve) => (start = resolve));
  const worker = async (w: number) => {
    const app = apps[w % apps.length]!;
    const other = apps[(w + 1) % apps.length]!;
    let user: { username: string; id: string } | undefined;
    let token: string | undefined;
    for (let i = 0; i < 20 && !token; i++) {
      user ??= await signup(app);
      if (user) token = await login(other, user.username);
    }
    ready += 1;
    if (ready === workers) {
      deadline = Date.now() + options.durationMs;
      start();
    }
    await started;
    if (!user || !token) return;
    tally.owners.add(user.id);
    const mine: { id: string; title: string }[] = [];
    const ack = (res: TestResponse, title: string) => {
      tally.projects.set(res.body.data.id as string, { owner: user.id, title });
      mine.push({ id: res.body.data.id as string, title });
    };
    while (Date.now() < deadline) {
      const roll = Math.random();
      const at = Math.random() < 0.5 ? app : other;
      if (roll < 0.05) {
        await signup(at);
      } else if (roll < 0.1) {
        await login(at, user.username);
      } else if (roll < 0.4 || mine.length === 0) {
        const title = uniqueName('t');
        const res = await send(at, 'create', [201], 'POST', '/api/projects', { token, json: { title } });
        if (res.status === 201) ack(res, title);
      } else if (roll < 0.55) {
        const taken = mine[Math.floor(Math.random() * mine.length)]!;
        const res = await send(at, 'duplicate', [409], 'POST', '/api/projects', { token, json: { title: taken.title } });
        if (res.status === 409 && (res.body.code !== 'DUPLICATE_RESOURCE' || res.body.conflict?.id !== taken.id)) {
          tally.wrong.push(`duplicate → 409 ${JSON.stringify(res.body)}`);
        }
      } else if (roll < 0.75) {
        // The same keyed create on both instances at once, each retried until it succeeds.
        const title = uniqueName('k');
        const headers = { 'idempotency-key': `key-${title}` };
        const attempt = async (instance: TestApp) => {
          for (let i = 0; i < 50; i++) {
            const res = await send(instance, 'keyed', [201, 409], 'POST', '/api/projects', { token, json: { title }, headers });
            if (res.status === 201) return res.body.data.id as string;
            if (res.status === 409 && res.body.code !== 'IDEMPOTENCY_KEY_IN_USE') tally.wrong.push(`keyed → 409 ${res.body.code}`);
            await pause(20);
          }
          tally.wrong.push(`keyed: no 201 in 50 attempts`);
          return undefined;
        };
        const ids = await Promise.all([attempt(app), attempt(other)]);
        if (ids[0] && ids[0] === ids[1]) {
          tally.projects.set(ids[0], { owner: user.id, title });
          mine.push({ id: ids[0], title });
        } else if (ids[0] && ids[1]) tally.wrong.push(`keyed: two projects for one key (${ids.join(', ')})`);
      } else if (roll < 0.9) {
        const known = mine[Math.floor(Math.random() * mine.length)]!;
        const res = await send(at, 'read', [200], 'GET', `/api/projects/${known.id}`, { token });
        if (res.status === 200 && res.body.data.title !== known.title)
          tally.wrong.push(`read: ${known.id} has title ${res.body.data.title}`);
      } else {
        await send(at, 'list', [200], 'GET', '/api/projects?limit=20', { token });
      }
    }
  };
  await Promise.all(Array.from({ length: workers }, (_, w) => worker(w)));
  return tally;
}

/** The database holds exactly the users and projects the load was told were created. */
async function expectHoldsWhatWasAcknowledged(testDb: TestDatabase, tally: Tally): Promise<void> {
  const db = testDb.database.db;
  const usernames = [...tally.users.keys()];
  const users = await db.selectFrom('users').select(['id', 'username']).where('username', 'in', usernames).execute();
  expect(new Map(users.map((u) => [u.username, u.id]))).toEqual(tally.users);
  const rows = await db
    .selectFrom('projects')
    .select(['id', 'owner_id', 'title'])
    .where('owner_id', 'in', [...tally.owners])
    .execute();
  expect(new Map(rows.map((r) => [r.id, { owner: r.owner_id, title: r.title }]))).toEqual(tally.projects);
}

function summary(tally: Tally): string {
  const sorted = [...tally.latencies].sort((a, b) => a - b);
  const p = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  const counts = [...tally.counts.entries()].sort().map(([k, n]) => `${k}: ${n}`);
  return `${tally.latencies.length} requests (${counts.join(', ')}); latency p50 ${p(0.5)} ms, p99 ${p(0.99)} ms, max ${p(1)} ms, slowest 503 ${tally.slowest503Ms} ms`;
}

/** The highest client and server connection counts PgBouncer reports for one database while `during` runs. */
async function watchPools<T>(bouncer: PgBouncer, database: string, during: Promise<T>) {
  const peak = { clients: 0, servers: 0, waiting: 0, waitMs: 0 };
  let done = false;
  const watching = (async () => {
    while (!done) {
      const pool = (await bouncer.show('pools')).find((row) => row.database === database);
      if (pool) {
        const n = (...keys: string[]) => keys.reduce((sum, key) => sum + Number(pool[key]), 0);
        peak.clients = Math.max(peak.clients, n('cl_active', 'cl_waiting'));
        peak.servers = Math.max(peak.servers, n('sv_active', 'sv_idle', 'sv_used', 'sv_tested', 'sv_login'));
        peak.waiting = Math.max(peak.waiting, n('cl_waiting'));
        peak.waitMs = Math.max(peak.waitMs, n('maxwait') * 1_000 + n('maxwait_us') / 1_000);
      }
      await pause(50);
    }
  })();
  try {
    return { result: await during, peak };
  } finally {
    done = true;
    await watching;
  }
}

describe.skipIf(!withPooler)('behind PgBouncer in transaction mode', () => {
  const POOL_SIZE = 8;
  let bouncer: PgBouncer;
  beforeAll(async () => {
    bouncer = await PgBouncer.start({
      mode: 'transaction',
      targetHost: directServer().host,
      targetPort: directServer().port,
      defaultPoolSize: POOL_SIZE,
    });
  });
  afterAll(() => bouncer?.stop());

  it('two instances of 16 connections over 8 server connections: zero 5xx under mixed load, and the database holds exactly what was acknowledged', async () => {
    const testDb = await openTestDatabase({ max: 2 });
    const { apps, close } = await instancesOn(bouncer, testDb, 2, { max: 16 });
    try {
      const { result: tally, peak } = await watchPools(
        bouncer,
        databaseName(testDb),
        runLoad(apps, { workersPerApp: 20, durationMs: 4_000 }),
      );
      console.info(
        `transaction mode, 2 × 16 clients over ${POOL_SIZE} server connections: ${summary(tally)}; peak ${peak.clients} clients, ${peak.servers} servers, longest wait for a server ${peak.waitMs} ms`,
      );
      expect(tally.serverErrors).toEqual([]);
      expect(tally.wrong).toEqual([]);
      // The statements of both instances really shared server connections.
      expect(peak.clients).toBeGreaterThan(POOL_SIZE);
      expect(peak.servers).toBeLessThanOrEqual(POOL_SIZE);
      expect(tally.projects.size).toBeGreaterThan(0);
      await expectHoldsWhatWasAcknowledged(testDb, tally);
    } finally {
      await close();
      await testDb.close();
    }
  }, 60_000);

  it('two instances migrating one empty database at once both succeed, each migration is applied once, and no lock outlives them', async () => {
    const { adminUrl } = directServer();
    // A race the pooler may or may not expose on one try: several fresh databases.
    for (let round = 0; round < 5; round++) {
      const name = `projects_api_pool_${uniqueName().slice(0, 12)}`;
      await runStatement(adminUrl, `create database ${name}`);
      const databases = await Promise.all([0, 1].map(() => createDb(bouncer.url(name), { max: 4 })));
      const direct = await connectClient(databaseUrl(adminUrl, name));
      try {
        const all = await pendingMigrations(databases[0]!.db);
        const outcomes = await Promise.allSettled(databases.map((database) => migrate(database.db)));
        const failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [`round ${round}: ${String(o.reason)}`] : []));
        expect(failures).toEqual([]);
        const applied = outcomes.flatMap((o) => (o.status === 'fulfilled' ? o.value : []));
        expect(applied.sort()).toEqual(all);
        const { rows } = await direct.query<{ name: string }>('select name from kysely_migration order by name');
        expect(rows.map((r) => r.name)).toEqual(all);
        // A session lock left on a pooled server connection would hold off the next deploy's migration.
        const { rows: locks } = await direct.query<{ n: number }>(
          `select count(*)::int as n from pg_locks where locktype = 'advisory' and database = (select oid from pg_database where datname = current_database())`,
        );
        expect(locks[0]!.n, `round ${round}`).toBe(0);
        for (const database of databases) {
          const testDb = {
            database,
            url: bouncer.url(name),
            directUrl: databaseUrl(adminUrl, name),
            queries: [],
            statements: [],
            close: () => database.close(),
          };
          await testAppOn(testDb, database.db).signUp();
        }
      } finally {
        await direct.end();
        await Promise.all(databases.map((database) => database.close()));
        await runStatement(adminUrl, `drop database if exists ${name} with (force)`);
      }
    }
  }, 60_000);

  it('a statement held by a lock is cut at the statement timeout: 503 + Retry-After, gone from the server, and the connection serves the next request', async () => {
    const TIMEOUT_MS = 500;
    const testDb = await openTestDatabase({ max: 1 });
    const name = databaseName(testDb);
    const { apps, close } = await instancesOn(bouncer, testDb, 1, { max: 1, statementTimeoutMs: TIMEOUT_MS });
    const app = apps[0]!;
    const admin = await connectClient(testDb.directUrl!);
    const blocker = await connectClient(testDb.directUrl!);
    try {
      const { user, token } = await app.newUser();
      const clientPorts = async () =>
        (await bouncer.show('clients'))
          .filter((c) => c.database === name)
          .map((c) => Number(c.port))
          .sort();
      const before = await clientPorts();
      expect(before).toHaveLength(1);

      await blocker.query('begin');
      await blocker.query('lock table projects in access exclusive mode');
      const { rows: blockerRows } = await blocker.query<{ pid: number }>('select pg_backend_pid() as pid');
      const others = `datname = $1 and pid <> pg_backend_pid() and pid <> $2`;
      const started = Date.now();
      const pending = app.request('POST', '/api/projects', { token, json: { title: 'Held' } });
      let sawWaiting = false;
      let settled = false;
      void pending.finally(() => (settled = true));
      while (!settled) {
        const { rows } = await admin.query<{ n: number }>(
          `select count(*)::int as n from pg_stat_activity where ${others} and wait_event_type = 'Lock'`,
          [name, blockerRows[0]!.pid],
        );
        if (rows[0]!.n > 0) sawWaiting = true;
        await pause(20);
      }
      const res = await pending;
      const elapsed = Date.now() - started;
      const { rows: left } = await admin.query<{ n: number }>(
        `select count(*)::int as n from pg_stat_activity where ${others} and state <> 'idle'`,
        [name, blockerRows[0]!.pid],
      );
      await blocker.query('rollback');

      console.info(`statement timeout ${TIMEOUT_MS} ms through PgBouncer (transaction mode): 503 after ${elapsed} ms`);
      expect(sawWaiting).toBe(true);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('2');
      expect(res.body).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
      expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS);
      // The timeout, plus the grace a cancel is given before the connection is dropped, plus slack.
      expect(elapsed).toBeLessThan(TIMEOUT_MS + CANCEL_GRACE_MS + 1_500);
      expect(left[0]!.n).toBe(0);

      const next = await app.request('POST', '/api/projects', { token, json: { title: 'Held' } });
      expect(next.status).toBe(201);
      // The cancelled statement's connection was kept, not replaced.
      expect(await clientPorts()).toEqual(before);
      expect(await testDb.database.db.selectFrom('projects').select('title').where('owner_id', '=', user.id).execute()).toEqual([
        { title: 'Held' },
      ]);
    } finally {
      await blocker.end();
      await admin.end();
      await close();
      await testDb.close();
    }
  }, 30_000);
});

describe.skipIf(!withPooler)('behind PgBouncer in session mode', () => {
  const POOL_SIZE = 10;
  let bouncer: PgBouncer;
  beforeAll(async () => {
    bouncer = await PgBouncer.start({
      mode: 'session',
      targetHost: directServer().host,
      targetPort: directServer().port,
      defaultPoolSize: POOL_SIZE,
    });
  });
  afterAll(() => bouncer?.stop());

  it('two instances of 5 connections over 10 server connections: zero 5xx, and a client waits for a server only while one opens', async () => {
    const testDb = await openTestDatabase({ max: 2 });
    const { apps, close } = await instancesOn(bouncer, testDb, 2, { max: 5 });
    try {
      const { result: tally, peak } = await watchPools(
        bouncer,
        databaseName(testDb),
        runLoad(apps, { workersPerApp: 10, durationMs: 3_000 }),
      );
      console.info(
        `session mode, 2 × 5 clients over ${POOL_SIZE} server connections: ${summary(tally)}; peak ${peak.clients} clients, ${peak.servers} servers, ${peak.waiting} waiting, longest wait for a server ${peak.waitMs} ms`,
      );
      expect(tally.serverErrors).toEqual([]);
      expect(tally.wrong).toEqual([]);
      expect(peak.clients).toBe(10);
      // Overcommitted, clients wait seconds for a server (the test below); here only for a login.
      expect(peak.waitMs).toBeLessThan(1_000);
      await expectHoldsWhatWasAcknowledged(testDb, tally);
    } finally {
      await close();
      await testDb.close();
    }
  }, 60_000);

  it('two instances of 10 connections over 10 server connections: what cannot get a server is a 503 within the bound, never a hang', async () => {
    const ACQUIRE_MS = 1_000;
    const STATEMENT_MS = 1_000;
    // A query waits at most this long for a pooled connection, then for PgBouncer to give that
    // connection a server: the statement bound, and the grace its CancelRequest gets before the
    // connection is dropped.
    const BOUND_MS = ACQUIRE_MS + STATEMENT_MS + CANCEL_GRACE_MS;
    const testDb = await openTestDatabase({ max: 2 });
    const { apps, close } = await instancesOn(bouncer, testDb, 2, {
      max: 10,
      acquireTimeoutMs: ACQUIRE_MS,
      statementTimeoutMs: STATEMENT_MS,
    });
    try {
      const { result: tally, peak } = await watchPools(
        bouncer,
        databaseName(testDb),
        runLoad(apps, { workersPerApp: 16, durationMs: 4_000, alsoAllowed: [503] }),
      );
      const max = Math.max(...tally.latencies);
      console.info(
        `session mode, 2 × 10 clients over ${POOL_SIZE} server connections: ${summary(tally)}; peak ${peak.clients} clients, ${peak.waiting} waiting, longest wait for a server ${peak.waitMs} ms`,
      );
      // Clients really waited for a server, longer than a statement is allowed to run.
      expect(peak.waiting).toBeGreaterThan(0);
      expect(peak.waitMs).toBeGreaterThan(STATEMENT_MS);
      expect(tally.serverErrors.length).toBeGreaterThan(0);
      expect(tally.wrong).toEqual([]);
      expect(max).toBeLessThan(BOUND_MS + 2_000);
    } finally {
      await close();
      await testDb.close();
    }
  }, 60_000);
});
