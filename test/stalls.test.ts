import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Database } from '../src/db/database.ts';
import type { DB } from '../src/db/schema.ts';
import { ERRORS, REASON_PHRASES } from '../src/errors/codes.ts';
import { onPostgres, startTestApp, testAppOn, type TestApp, type TestResponse } from './support/harness.ts';
import { TcpProxy } from './support/tcp-proxy.ts';

const withPostgres = onPostgres();
if (!withPostgres) console.warn('stall tests skipped: they put a TCP proxy in front of a PostgreSQL server (set TEST_DATABASE_URL)');

const STATEMENT_TIMEOUT_MS = 1_000;
const ACQUIRE_TIMEOUT_MS = 1_000;
// The promised bound on a statement whose connection stalls: the statement timeout, then at most
// 1 s for the cancel to be answered before the connection is destroyed.
const STALLED_STATEMENT_BOUND_MS = STATEMENT_TIMEOUT_MS + 1_000;
// A new connection waits at most the acquire timeout; pg's own connect timeout is 1 s past it.
const STALLED_CONNECT_BOUND_MS = ACQUIRE_TIMEOUT_MS + 1_000;
// On top of a bound, so that a busy 2-core machine does not fail it.
const MARGIN_MS = 2_000;
// Node may fire a timer a millisecond before its delay.
const TIMER_SLACK_MS = 5;

const UNAVAILABLE = {
  status: 'Failed',
  code: 'SERVICE_UNAVAILABLE',
  message: `[${REASON_PHRASES[503]}] ${ERRORS.SERVICE_UNAVAILABLE.text.ko}`,
  requestId: expect.any(String),
};

/** The response and how long it took; a failure when it takes `limitMs` or more. */
async function timed(limitMs: number, send: () => Promise<TestResponse>): Promise<{ res: TestResponse; ms: number }> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${limitMs} ms`)), limitMs);
  });
  try {
    const res = await Promise.race([send(), late]);
    return { res, ms: performance.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

/** Opens `n` connections of the pool at once, so that `n` idle ones are there afterwards. */
async function openConnections(db: Kysely<DB>, n: number): Promise<void> {
  if (n === 0) return;
  await db.connection().execute(async (conn) => {
    await conn.selectNoFrom((eb) => eb.val(1).as('one')).execute();
    await openConnections(db, n - 1);
  });
}

/** The established sockets whose peer is `port`, as `ss` lists them, with their timers. */
function socketsTo(port: number): string[] | undefined {
  try {
    execFileSync('ss', ['-V'], { stdio: 'ignore' });
  } catch {
    return undefined;
  }
  const out = execFileSync('ss', ['-tnoH', 'state', 'established', `( dport = :${port} )`], { encoding: 'utf8' });
  return out.split('\n').filter((line) => line.trim() !== '');
}

describe.skipIf(!withPostgres)('PostgreSQL: a network path that stalls without a reset', () => {
  // The test's own view of the database, reached directly rather than through the proxy.
  let t: TestApp;
  let proxy: TcpProxy;
  const pools: Database[] = [];

  beforeAll(async () => {
    t = await startTestApp();
    const target = new URL(t.testDb.url!);
    proxy = new TcpProxy(target.hostname, Number(target.port || 5432));
    await proxy.start();
  });
  afterAll(async () => {
    await proxy.cut();
    for (const pool of pools) await pool.close();
    await t.close();
  });

  /** The app on a pool of its own that reaches the database through the proxy. */
  async function appThroughProxy(max: number) {
    const via = new URL(t.testDb.url!);
    via.port = String(proxy.port);
    const database = await createDb(via.toString(), {
      max,
      statementTimeoutMs: STATEMENT_TIMEOUT_MS,
      acquireTimeoutMs: ACQUIRE_TIMEOUT_MS,
    });
    pools.push(database);
    return { app: testAppOn(t.testDb, database.db), db: database.db };
  }

  it("the app's database connections use TCP keepalive", async () => {
    const { db } = await appThroughProxy(3);
    await openConnections(db, 3);
    const sockets = socketsTo(proxy.port);
    if (sockets === undefined) {
      console.warn('keepalive not checked: `ss` (iproute2) is not installed');
      return;
    }
    expect(sockets).toHaveLength(3);
    for (const line of sockets) expect(line).toContain('timer:(keepalive,');
  });

  it('a stall: requests and ready are 503 within the statement bound, nothing written; a new connection is bounded too; thaw heals', async () => {
    const { app, db } = await appThroughProxy(3);
    const { user, token } = await app.newUser();
    await app.createProject(token, 'Before the stall');
    // One idle connection for each of the three requests below, so that each of them stalls on a
    // connection it already holds rather than on opening one.
    await openConnections(db, 3);
    // A pool with no connection yet: during the stall its TCP connect succeeds and the startup never completes.
    const { app: fresh } = await appThroughProxy(1);

    proxy.freeze();
    try {
      const stalled = [
        () => app.request('GET', '/api/projects', { token }),
        () => app.request('POST', '/api/projects', { token, json: { title: 'During the stall' } }),
        () => app.request('GET', '/health/ready'),
      ];
      for (const send of stalled) {
        const { res, ms } = await timed(STALLED_STATEMENT_BOUND_MS + MARGIN_MS, send);
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).toBe('2');
        expect(res.body).toEqual(UNAVAILABLE);
        // The statement had its full time before the app gave up on it.
        expect(ms).toBeGreaterThanOrEqual(STATEMENT_TIMEOUT_MS - TIMER_SLACK_MS);
      }
      expect(await t.db.selectFrom('projects').select('title').where('owner_id', '=', user.id).execute()).toEqual([
        { title: 'Before the stall' },
      ]);

      for (const send of [() => fresh.request('GET', '/health/ready'), () => fresh.request('GET', '/api/projects', { token })]) {
        const { res, ms } = await timed(STALLED_CONNECT_BOUND_MS + MARGIN_MS, send);
        expect(res.status).toBe(503);
        expect(res.headers.get('retry-after')).toBe('2');
        expect(res.body).toEqual(UNAVAILABLE);
        expect(ms).toBeGreaterThanOrEqual(ACQUIRE_TIMEOUT_MS - TIMER_SLACK_MS);
      }
    } finally {
      proxy.thaw();
    }

    expect((await app.request('GET', '/health/ready')).status).toBe(200);
    expect((await fresh.request('GET', '/health/ready')).status).toBe(200);
    const list = await app.request('GET', '/api/projects', { token });
    expect(list.status).toBe(200);
    expect(list.body.data.map((p: { title: string }) => p.title)).toEqual(['Before the stall']);
    expect((await app.request('POST', '/api/projects', { token, json: { title: 'After the stall' } })).status).toBe(201);
    expect(await t.db.selectFrom('projects').select('title').where('owner_id', '=', user.id).orderBy('created_at').execute()).toEqual([
      { title: 'Before the stall' },
      { title: 'After the stall' },
    ]);
  });
});
