import { sql } from 'kysely';
import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createDb, type Database } from '../src/db/database.ts';
import { ERRORS, REASON_PHRASES } from '../src/errors/codes.ts';
import { onPostgres, startTestApp, testAppOn, uniqueName, type TestApp } from './support/harness.ts';
import { connectClient } from './support/pg-client.ts';

const withPostgres = onPostgres();
if (withPostgres) console.warn('read-only PGlite test skipped: this run is on PostgreSQL');
else console.warn('read-only PostgreSQL test skipped: it needs a PostgreSQL server (set TEST_DATABASE_URL)');

const UNAVAILABLE = {
  status: 'Failed',
  code: 'SERVICE_UNAVAILABLE',
  message: `[${REASON_PHRASES[503]}] ${ERRORS.SERVICE_UNAVAILABLE.text.ko}`,
  requestId: expect.any(String),
};

/** Runs a query on a connection that is not the app's, and returns its rows. */
type Read = (text: string, params?: unknown[]) => Promise<Record<string, unknown>[]>;

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** What exists before the database stops taking writes: a user with a session, and one project. */
async function seed(t: TestApp) {
  const { user, token } = await t.newUser();
  const project = await t.createProject(token, 'Kept');
  // Old enough that the session check records activity: on a read-only node it must not try.
  await sql`update sessions set last_seen_at = now() - interval '5 minutes' where user_id = ${user.id}`.execute(t.db);
  return { user, token, project };
}

type Seeded = Awaited<ReturnType<typeof seed>>;

/**
 * The app (`ro`, with a caller cache of its own, so that every session check reaches the
 * database) on a database that refuses writes: reads of a session made before still work, every
 * write is a 503 with Retry-After and writes nothing, ready is 503 and live 200. `refused` runs
 * after each refused write.
 */
async function expectReadOnlyOutage(ro: TestApp, read: Read, { user, token, project }: Seeded, refused: () => Promise<void>) {
  const list = await ro.request('GET', '/api/projects', { token });
  expect(list.status).toBe(200);
  expect(list.body.data.map((p: { id: string }) => p.id)).toEqual([project.id]);
  expect(await read(`select last_seen_at < now() - interval '4 minutes' as aged from sessions where user_id = $1`, [user.id])).toEqual([
    { aged: true },
  ]);

  const ready = await ro.request('GET', '/health/ready');
  expect(ready.status).toBe(503);
  expect(ready.headers.get('retry-after')).toBe('2');
  expect(ready.body).toEqual(UNAVAILABLE);
  expect((await ro.request('GET', '/health/live')).status).toBe(200);

  const name = uniqueName();
  const writes = [
    () =>
      ro.request('POST', '/api/users', { json: { username: name, email: `${name}@example.com`, nickname: 'n', password: 'password-123' } }),
    () => ro.request('POST', '/api/projects', { token, json: { title: 'Refused' } }),
    () => ro.request('PATCH', `/api/projects/${project.id}`, { token, json: { title: 'Renamed' } }),
    () => ro.request('DELETE', `/api/projects/${project.id}`, { token }),
    () => ro.request('POST', '/api/projects', { token, json: { title: 'Keyed' }, headers: { 'idempotency-key': 'read-only-1' } }),
  ];
  for (const write of writes) {
    const res = await write();
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('2');
    expect(res.body).toEqual(UNAVAILABLE);
    await refused();
  }

  expect(await read('select count(*)::int as n from users where username = $1', [name])).toEqual([{ n: 0 }]);
  expect(await read('select title, version, deleted_at from projects where owner_id = $1', [user.id])).toEqual([
    { title: 'Kept', version: 1, deleted_at: null },
  ]);
  expect(await read('select count(*)::int as n from idempotency_keys')).toEqual([{ n: 0 }]);
}

/** Once the database takes writes again, the same app writes without a restart. */
async function expectRecovered(ro: TestApp, read: Read, { user, token, project }: Seeded) {
  expect((await ro.request('POST', '/api/projects', { token, json: { title: 'After' } })).status).toBe(201);
  expect((await ro.request('GET', '/health/ready')).status).toBe(200);
  const name = uniqueName();
  const signup = await ro.request('POST', '/api/users', {
    json: { username: name, email: `${name}@example.com`, nickname: 'n', password: 'password-123' },
  });
  expect(signup.status).toBe(201);
  expect((await ro.request('PATCH', `/api/projects/${project.id}`, { token, json: { title: 'Renamed' } })).status).toBe(200);
  expect((await ro.request('DELETE', `/api/projects/${project.id}`, { token })).status).toBe(204);
  const keyed = () =>
    ro.request('POST', '/api/projects', { token, json: { title: 'Keyed' }, headers: { 'idempotency-key': 'read-only-1' } });
  const first = await keyed();
  expect(first.status).toBe(201);
  expect((await keyed()).body.data.id).toBe(first.body.data.id);
  expect(
    await read('select title, deleted_at is not null as deleted from projects where owner_id = $1 order by created_at', [user.id]),
  ).toEqual([
    { title: 'Renamed', deleted: true },
    { title: 'After', deleted: false },
    { title: 'Keyed', deleted: false },
  ]);
  expect(await read('select count(*)::int as n from users where username = $1', [name])).toEqual([{ n: 1 }]);
}

describe.skipIf(withPostgres)('PGlite: a session that refuses writes (default_transaction_read_only)', () => {
  it('reads work, writes and ready are 503 with Retry-After, nothing written; after the reset writes succeed', async () => {
    const t = await startTestApp();
    try {
      const database = t.testDb.database;
      if (database.kind !== 'pglite') throw new Error('expected PGlite');
      const seeded = await seed(t);
      const read: Read = async (text, params) => (await database.pglite.query<Record<string, unknown>>(text, params)).rows;
      // PGlite has one session: setting it there makes every later transaction read-only.
      await database.pglite.exec('set default_transaction_read_only = on');
      const ro = testAppOn(t.testDb, t.db);
      await expectReadOnlyOutage(ro, read, seeded, () => Promise.resolve());
      await database.pglite.exec('reset default_transaction_read_only');
      await expectRecovered(ro, read, seeded);
    } finally {
      await t.close();
    }
  });
});

describe.skipIf(!withPostgres)('PostgreSQL: a database that refuses writes (default_transaction_read_only)', () => {
  it('reads work, writes and ready are 503 with Retry-After, nothing written, the refused connection dropped; after the reset writes succeed', async () => {
    const t = await startTestApp();
    // Opened before the switch, so its own session stays read-write (it switches the database back).
    // Both it and the pool under test connect directly: a pooler would hand either of them server
    // sessions opened before or after the switch, whichever are free.
    const admin: pg.Client = await connectClient(t.testDb.directUrl!);
    let database: Database | undefined;
    try {
      const seeded = await seed(t);
      const read: Read = async (text, params) => (await admin.query<Record<string, unknown>>(text, params)).rows;
      const { rows } = await admin.query<{ name: string }>('select current_database() as name');
      const name = rows[0]!.name;
      // The harness pool's connections are not the app's under test.
      const harness = (await read(`select pid from pg_stat_activity where datname = $1 and application_name = 'projects-api'`, [name])).map(
        (r) => r.pid,
      );
      await admin.query(`alter database ${name} set default_transaction_read_only = on`);
      // A pool opened after the switch: every connection it makes is read-only, as on a demoted primary.
      database = await createDb(t.testDb.directUrl!, { max: 1 });
      const ro = testAppOn(t.testDb, database.db);
      const appBackends = async () =>
        (
          await read(
            `select count(*)::int as n from pg_stat_activity where datname = $1 and application_name = 'projects-api' and pid <> all($2)`,
            [name, harness],
          )
        )[0]!.n;
      // With one connection in the pool and nothing else running, any backend left is the one that refused the write.
      await expectReadOnlyOutage(ro, read, seeded, () =>
        until(async () => (await appBackends()) === 0, 'the connection that got 25006 is dropped'),
      );
      await admin.query(`alter database ${name} reset default_transaction_read_only`);
      await expectRecovered(ro, read, seeded);
    } finally {
      await admin.end();
      await database?.close();
      await t.close();
    }
  });
});
