import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onPostgres, startTestApp, testAppOn, uniqueName, type TestApp, type TestResponse } from './support/harness.ts';
import { openFaultyDb, type FaultPlan } from './support/fault-injection.ts';
import { connectClient } from './support/pg-client.ts';
import { canRunPrivatePostgres, PrivatePostgres } from './support/private-postgres.ts';
import { createDb } from '../src/db/database.ts';
import { migrate } from '../src/db/migrations.ts';

const withPostgres = onPostgres();
if (!withPostgres) console.warn('idempotency fault tests skipped: they need a PostgreSQL server (set TEST_DATABASE_URL)');

/** One keyed write: how to send it, and what the database holds of it (its id, or none). */
interface Write {
  send(key: string): Promise<TestResponse>;
  committed(): Promise<string | undefined>;
  status: number;
}

describe.skipIf(!withPostgres)('an idempotent write under a fault at every statement', () => {
  let t: TestApp;
  let faulty: TestApp;
  let faults: Awaited<ReturnType<typeof openFaultyDb>>;
  let token: string;
  let userId: string;

  beforeAll(async () => {
    t = await startTestApp();
    // The session lookup is left out of the count: the session cache decides whether it runs.
    // Direct: a fault kills the backend a connection was given, which behind a transaction pooler
    // is not the one its next statement runs on.
    faults = await openFaultyDb(t.testDb.directUrl!, (sql) => /\bfrom sessions\b/.test(sql));
    faulty = testAppOn(t.testDb, faults.db);
    ({
      token,
      user: { id: userId },
    } = await t.newUser());
  });
  afterAll(async () => {
    await faults?.close();
    await t?.close();
  });

  const signup = (): Write => {
    const name = uniqueName();
    const json = { username: name, password: 'password-123', nickname: 'n', email: `${name}@example.com` };
    return {
      send: (key) => faulty.request('POST', '/api/users', { json, headers: { 'idempotency-key': key } }),
      committed: async () => (await t.db.selectFrom('users').select('id').where('username', '=', name).executeTakeFirst())?.id,
      status: 201,
    };
  };
  const create = (): Write => {
    const title = uniqueName('p');
    return {
      send: (key) => faulty.request('POST', '/api/projects', { token, json: { title }, headers: { 'idempotency-key': key } }),
      committed: async () =>
        (await t.db.selectFrom('projects').select('id').where('owner_id', '=', userId).where('title', '=', title).executeTakeFirst())?.id,
      status: 201,
    };
  };
  const restore = async (): Promise<Write> => {
    const project = await t.createProject(token, uniqueName('r'));
    expect((await t.request('DELETE', `/api/projects/${project.id}`, { token })).status).toBe(204);
    return {
      send: (key) => faulty.request('POST', `/api/projects/${project.id}/restore`, { token, headers: { 'idempotency-key': key } }),
      committed: async () =>
        (await t.db.selectFrom('projects').select('id').where('id', '=', project.id).where('deleted_at', 'is', null).executeTakeFirst())
          ?.id,
      status: 200,
    };
  };

  /** How many counted statements the write runs when nothing fails. */
  async function statementsOf(write: Write): Promise<string[]> {
    faults.injector.arm();
    const res = await write.send(uniqueName('k'));
    faults.injector.disarm();
    expect(res.status).toBe(write.status);
    return faults.injector.counted;
  }

  /** Whether the faulted attempt had committed, so that both outcomes are seen to be handled. */
  async function strike(make: () => Write | Promise<Write>, plan: FaultPlan): Promise<boolean> {
    const write = await make();
    const key = uniqueName('k');
    faults.injector.arm(plan);
    const failed = await write.send(key);
    faults.injector.disarm();
    expect(failed.status, `${JSON.stringify(plan)}: ${JSON.stringify(failed.body)}`).toBe(503);

    const committed = await write.committed();
    const retry = await write.send(key);
    const where = `${JSON.stringify(plan)} committed=${String(committed !== undefined)}`;
    expect(retry.status, `${where}: ${JSON.stringify(retry.body)}`).toBe(write.status);
    expect(retry.headers.get('idempotent-replayed'), where).toBe(committed === undefined ? null : 'true');
    if (committed !== undefined) expect(retry.body.data.id, where).toBe(committed);
    expect(await write.committed(), where).toBe(retry.body.data.id);

    const again = await write.send(key);
    expect(again.status, where).toBe(write.status);
    expect(again.headers.get('idempotent-replayed'), where).toBe('true');
    expect(again.body, where).toEqual(retry.body);
    return committed !== undefined;
  }

  it.each([
    ['POST /api/users', signup],
    ['POST /api/projects', create],
    ['POST /api/projects/{id}/restore', restore],
  ])(
    '%s: a retry replays what was committed, or runs anew; never a 409 for its own resource',
    async (_name, make) => {
      const statements = await statementsOf(await make());
      expect(statements.length).toBeGreaterThan(1);
      const committed: boolean[] = [];
      for (let at = 1; at <= statements.length; at++) {
        for (const when of ['before', 'after'] as const) {
          for (const sticky of [false, true]) committed.push(await strike(make, { at, when, sticky }));
        }
      }
      // A reply lost after COMMIT leaves the write committed; every earlier fault leaves nothing.
      expect(committed.filter(Boolean)).toHaveLength(2);
    },
    120_000,
  );
});

describe.skipIf(!withPostgres)('keyed creates while backends are killed', () => {
  it('every key ends with exactly one project, and every retry gets the 201 of what was committed', async () => {
    // Backends are killed while idle in the pool too; the pool replaces them.
    const t = await startTestApp({}, { onIdleError: () => undefined });
    // It must see the real backends; the app's pool may reach them through a pooler.
    const killer = await connectClient(t.testDb.directUrl!);
    try {
      const { token, user } = await t.newUser();
      const titles = Array.from({ length: 150 }, (_, i) => `load-${i}`);
      const send = (title: string) =>
        t.request('POST', '/api/projects', { token, json: { title }, headers: { 'idempotency-key': `key-${title}` } });

      let killing = true;
      let kills = 0;
      const killLoop = (async () => {
        while (killing) {
          const { rowCount } = await killer.query(
            `select pg_terminate_backend(pid) from pg_stat_activity
             where datname = current_database() and application_name = 'projects-api' and pid <> pg_backend_pid()
             order by random() limit 1`,
          );
          kills += rowCount ?? 0;
          await new Promise((r) => setTimeout(r, 40 + Math.random() * 80));
        }
      })();
      const first = new Map<string, TestResponse>();
      const queue = [...titles];
      await Promise.all(
        Array.from({ length: 10 }, async () => {
          for (let title = queue.shift(); title !== undefined; title = queue.shift()) first.set(title, await send(title));
        }),
      );
      killing = false;
      await killLoop;

      const failed = titles.filter((title) => first.get(title)?.status !== 201);
      expect(kills).toBeGreaterThan(0);
      expect(failed.length).toBeGreaterThan(0);
      expect(failed.every((title) => first.get(title)?.status === 503)).toBe(true);

      const rows = await t.db.selectFrom('projects').select(['id', 'title']).where('owner_id', '=', user.id).execute();
      const committed = new Map(rows.map((r) => [r.title, r.id]));
      for (const title of titles) {
        const retry = await send(title);
        expect(retry.status, title).toBe(201);
        expect(retry.headers.get('idempotent-replayed'), title).toBe(committed.has(title) ? 'true' : null);
        const original = first.get(title);
        if (original?.status === 201) expect(retry.body).toEqual(original.body);
        if (committed.has(title)) expect(retry.body.data.id, title).toBe(committed.get(title));
      }
      const after = await t.db.selectFrom('projects').select('title').where('owner_id', '=', user.id).execute();
      expect(after.map((r) => r.title).sort()).toEqual([...titles].sort());
      console.info(
        `load: ${titles.length} keyed creates, ${kills} backends killed, ${failed.length} first attempts failed (${failed.filter((x) => committed.has(x)).length} of them committed)`,
      );
    } finally {
      await killer.end();
      await t.close();
    }
  }, 120_000);
});

describe.skipIf(!withPostgres || !canRunPrivatePostgres())('keyed creates while PostgreSQL restarts', () => {
  it('every key ends with exactly one project, and every retry gets the 201 of what was committed', async () => {
    const server = await PrivatePostgres.start();
    const database = await createDb(server.url, { onIdleError: () => undefined });
    try {
      await migrate(database.db);
      const t = testAppOn(
        { database, url: server.url, directUrl: server.url, queries: [], statements: [], close: () => database.close() },
        database.db,
      );
      const { token, user } = await t.newUser();
      const titles = Array.from({ length: 120 }, (_, i) => `restart-${i}`);
      const send = (title: string) =>
        t.request('POST', '/api/projects', { token, json: { title }, headers: { 'idempotency-key': `key-${title}` } });

      const first = new Map<string, TestResponse>();
      const queue = [...titles];
      let restart: Promise<void> | undefined;
      await Promise.all(
        Array.from({ length: 5 }, async () => {
          for (let title = queue.shift(); title !== undefined; title = queue.shift()) {
            if (first.size === 30) restart ??= server.restart();
            first.set(title, await send(title));
          }
        }),
      );
      await restart;
      const failed = titles.filter((title) => first.get(title)?.status !== 201);
      expect(failed.length).toBeGreaterThan(0);
      expect(failed.every((title) => first.get(title)?.status === 503)).toBe(true);

      // Connections the restart ended may still sit in the pool: a retry on one is a 503 again.
      const retries = new Map<string, TestResponse>();
      const rows = await database.db.selectFrom('projects').select(['id', 'title']).where('owner_id', '=', user.id).execute();
      const committed = new Map(rows.map((r) => [r.title, r.id]));
      for (const title of titles) {
        for (let attempt = 0; attempt < 20 && retries.get(title)?.status !== 201; attempt++) retries.set(title, await send(title));
        const retry = retries.get(title)!;
        expect(retry.status, title).toBe(201);
        expect(retry.headers.get('idempotent-replayed'), title).toBe(committed.has(title) ? 'true' : null);
        const original = first.get(title);
        if (original?.status === 201) expect(retry.body).toEqual(original.body);
        if (committed.has(title)) expect(retry.body.data.id, title).toBe(committed.get(title));
      }
      const after = await database.db.selectFrom('projects').select('title').where('owner_id', '=', user.id).execute();
      expect(after.map((r) => r.title).sort()).toEqual([...titles].sort());
      console.info(
        `restart: ${titles.length} keyed creates, ${failed.length} first attempts failed (${failed.filter((x) => committed.has(x)).length} of them committed)`,
      );
    } finally {
      await database.close();
      await server.destroy();
    }
  }, 120_000);
});
