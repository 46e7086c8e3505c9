import { createServer, type Server } from 'node:net';
import { sql } from 'kysely';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createDb } from '../src/db/database.ts';
import { createLogger } from '../src/logger.ts';
import { lockWaiters, onPostgres, ungrantedLocks, startTestApp, uniqueName, type TestApp } from './support/harness.ts';
import { connectClient, runStatement } from './support/pg-client.ts';
import { TcpProxy } from './support/tcp-proxy.ts';

const withPostgres = onPostgres();
if (!withPostgres) console.warn('outage tests skipped: they need a PostgreSQL server (set TEST_DATABASE_URL)');

async function until(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function json(res: Response) {
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as Record<string, unknown> };
}

function signupRequest(name: string): RequestInit {
  return {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: name, password: 'password-123', nickname: 'n', email: `${name}@example.com` }),
  };
}

describe('a busy pool', () => {
  it('a query that cannot get a connection in time is a 503, and the next one succeeds', async () => {
    const t = await startTestApp({}, { max: 1, acquireTimeoutMs: 300 });
    try {
      const { token } = await t.newUser();
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const holding = t.db.connection().execute(() => held);
      const started = Date.now();
      const res = await t.request('POST', '/api/projects', { token, json: { title: 'Starved' } });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('2');
      expect(Date.now() - started).toBeLessThan(3_000);
      release();
      await holding;
      expect((await t.request('POST', '/api/projects', { token, json: { title: 'Fed' } })).status).toBe(201);
      expect(await t.db.selectFrom('projects').select('title').where('title', 'in', ['Starved', 'Fed']).execute()).toEqual([
        { title: 'Fed' },
      ]);
    } finally {
      await t.close();
    }
  });
});

describe.skipIf(!withPostgres)('PostgreSQL: lock waits, outages and recovery', () => {
  let t: TestApp;
  let admin: pg.Client;
  const appWaitingOnLock = async () => {
    const { rows } = await admin.query<{ n: number }>(`
      select count(*)::int as n from (${lockWaiters()}) w where application_name = 'projects-api'`);
    return rows[0]?.n === 1;
  };

  beforeAll(async () => {
    t = await startTestApp();
    // The real backends, and other clients of the database, are reached without the app's pooler.
    admin = await connectClient(t.testDb.directUrl!);
  });
  afterAll(async () => {
    await admin.end();
    await t.close();
  });

  describe('two writers of one title, the first in an open transaction', () => {
    it.each([
      ['commits', 409],
      ['rolls back', 201],
    ])('the second waits on the lock; when the first %s it gets %i', async (outcome, status) => {
      const { user, token } = await t.newUser();
      const first = await connectClient(t.testDb.directUrl!);
      try {
        await first.query('begin');
        await first.query(`insert into projects (owner_id, title, title_key) values ($1, 'Held', 'held')`, [user.id]);
        const second = t.request('POST', '/api/projects', { token, json: { title: 'HELD' } });
        await until(appWaitingOnLock);
        const { rows } = await admin.query<{ locktype: string }>(`
          select w.locktype from (${ungrantedLocks()}) w join pg_stat_activity a on a.pid = w.pid
          where a.application_name = 'projects-api'`);
        expect(rows).toEqual([{ locktype: 'transactionid' }]);
        await first.query(outcome === 'commits' ? 'commit' : 'rollback');
        const res = await second;
        expect(res.status).toBe(status);
        if (status === 409) expect(res.body).toMatchObject({ code: 'DUPLICATE_RESOURCE', field: 'title' });
      } finally {
        await first.end();
      }
      const live = await t.db.selectFrom('projects').select('id').where('owner_id', '=', user.id).where('deleted_at', 'is', null).execute();
      expect(live).toHaveLength(1);
    });
  });

  it('a backend killed mid-request (57P01) is a 503 with nothing written; the next request succeeds', async () => {
    const { user, token } = await t.newUser();
    const blocker = await connectClient(t.testDb.directUrl!);
    try {
      await blocker.query('begin');
      await blocker.query('lock table projects in access exclusive mode');
      const pending = t.request('POST', '/api/projects', { token, json: { title: 'Killed' } });
      await until(appWaitingOnLock);
      await admin.query(`
        select pg_terminate_backend(pid) from (${lockWaiters()}) w where application_name = 'projects-api'`);
      const res = await pending;
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('2');
      expect(res.body).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
      expect(JSON.stringify(res.body)).not.toMatch(/terminat|administrator|postgres/i);
      await blocker.query('rollback');
    } finally {
      await blocker.end();
    }
    expect(await t.db.selectFrom('projects').select('id').where('owner_id', '=', user.id).execute()).toHaveLength(0);
    expect((await t.request('POST', '/api/projects', { token, json: { title: 'Killed' } })).status).toBe(201);
  });

  it('idle connections killed under the pool do not crash the process; the next request succeeds', async () => {
    const { token } = await t.newUser();
    await Promise.all(Array.from({ length: 5 }, () => t.request('GET', '/api/projects', { token })));
    const killed = await admin.query(`
      select pg_terminate_backend(pid) from pg_stat_activity
      where datname = current_database() and application_name = 'projects-api'`);
    expect(killed.rowCount).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 100));
    expect((await t.request('POST', '/api/projects', { token, json: { title: 'After idle kill' } })).status).toBe(201);
  });

  it('a connection killed while checked out between queries does not end the process, and is not reused', async () => {
    const { token } = await t.newUser();
    await t.db.connection().execute(async (conn) => {
      const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(conn);
      await admin.query('select pg_terminate_backend($1::int)', [rows[0]!.pid]);
      await new Promise((r) => setTimeout(r, 200));
    });
    for (let i = 0; i < 5; i++)
      expect((await t.request('POST', '/api/projects', { token, json: { title: `After checkout kill ${i}` } })).status).toBe(201);
  });

  it('a statement over the statement timeout (57014) is a 503 with nothing written', async () => {
    const slow = await startTestApp({}, { statementTimeoutMs: 300 });
    const blocker = await connectClient(slow.testDb.directUrl!);
    try {
      const { user, token } = await slow.newUser();
      await blocker.query('begin');
      await blocker.query('lock table projects in access exclusive mode');
      const res = await slow.request('POST', '/api/projects', { token, json: { title: 'Timed out' } });
      await blocker.query('rollback');
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('SERVICE_UNAVAILABLE');
      expect(await slow.db.selectFrom('projects').select('id').where('owner_id', '=', user.id).execute()).toHaveLength(0);
      expect((await slow.request('POST', '/api/projects', { token, json: { title: 'Timed out' } })).status).toBe(201);
    } finally {
      await blocker.end();
      await slow.close();
    }
  });

  it('too many connections (53300) is a 503', async () => {
    const role = `pa_limited_${uniqueName('r')}`;
    // Direct: the refusal is the server's; a pooler would refuse a role missing from its auth file itself.
    await runStatement(t.testDb.directUrl!, `create role ${role} login connection limit 0`);
    const url = new URL(t.testDb.directUrl!);
    url.username = role;
    const database = await createDb(url.toString(), { max: 1 });
    try {
      const app = createApp({ db: database.db, config: loadConfig({}), logger: createLogger('silent') });
      const res = await json(await app.request('/api/users', signupRequest(uniqueName())));
      expect(res.status).toBe(503);
      expect(res.retryAfter).toBe('2');
    } finally {
      await database.close();
      await runStatement(t.testDb.directUrl!, `drop role ${role}`);
    }
  });

  it('the database going away and coming back: 503 and ready 503 meanwhile, live 200, then it heals', async () => {
    const target = new URL(t.testDb.url!);
    const proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
    await proxy.start();
    const via = new URL(t.testDb.url!);
    via.port = String(proxy.port);
    const database = await createDb(via.toString(), { max: 2 });
    const app = createApp({ db: database.db, config: loadConfig({}), logger: createLogger('silent') });
    try {
      expect((await app.request('/api/users', signupRequest(uniqueName()))).status).toBe(201);
      await proxy.cut();
      const started = Date.now();
      const down = await json(await app.request('/api/users', signupRequest(uniqueName())));
      expect(down).toMatchObject({ status: 503, retryAfter: '2', body: { code: 'SERVICE_UNAVAILABLE' } });
      expect(Date.now() - started).toBeLessThan(6_000);
      expect((await app.request('/health/ready')).status).toBe(503);
      expect((await app.request('/health/live')).status).toBe(200);
      await proxy.start();
      expect((await app.request('/health/ready')).status).toBe(200);
      expect((await app.request('/api/users', signupRequest(uniqueName()))).status).toBe(201);
    } finally {
      await proxy.cut();
      await database.close();
    }
  });

  it('a database that accepts but never answers is a 503 within the 5 s connect timeout', async () => {
    const silent: Server = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    const database = await createDb(`postgres://postgres@127.0.0.1:${port}/none`, { max: 1 });
    const app = createApp({ db: database.db, config: loadConfig({}), logger: createLogger('silent') });
    try {
      const started = Date.now();
      const res = await json(await app.request('/health/ready'));
      expect(res.status).toBe(503);
      expect(Date.now() - started).toBeLessThan(7_000);
    } finally {
      await database.close().catch(() => undefined);
      silent.close();
    }
  });
});
