import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';
import { createDb, type CreateDbOptions } from '../src/db/database.ts';
import { migrate } from '../src/db/migrations.ts';
import { freePort } from './support/free-port.ts';
import { testAppOn, type TestApp } from './support/harness.ts';
import { canRunPrivatePostgres, PrivatePostgres } from './support/private-postgres.ts';

const withClusters = canRunPrivatePostgres();
if (!withClusters) console.warn('multi-host tests skipped: they need PostgreSQL 15 binaries to start private clusters');

const UNAVAILABLE = {
  code: 'SERVICE_UNAVAILABLE',
  message: '[Service Unavailable] 일시적으로 서비스를 이용할 수 없습니다. 잠시 후 다시 시도하세요.',
};

/** The service on `url`: its own pool, and the URL through the configuration as a deployment reads it. */
async function serviceOn(url: string, options: CreateDbOptions = {}): Promise<TestApp> {
  const database = await createDb(url, { onIdleError: () => undefined, ...options });
  return testAppOn({ database, url, directUrl: url, queries: [], statements: [], close: () => database.close() }, database.db, {
    DATABASE_URL: url,
  });
}

/**
 * Which server each of `connections` concurrent queries ran on; held open together, so each is a
 * connection of its own, and they connect at the same time, as a busy instance's first requests do:
 * one connection's move to the next host must not send the others past it.
 */
async function serverPorts(t: TestApp, connections: number): Promise<number[]> {
  const ports = await Promise.all(
    Array.from({ length: connections }, () => sql<{ port: number }>`select inet_server_port() as port, pg_sleep(0.1)`.execute(t.db)),
  );
  return ports.map(({ rows }) => rows[0]!.port);
}

describe.skipIf(!withClusters)('DATABASE_URL listing several hosts, libpq-style', () => {
  let primary: PrivatePostgres;
  let standby: PrivatePostgres;
  let token: string;
  let ownerId: string;
  let existingTitle: string;
  const listing = (...nodes: { host: string }[]) => `postgres://postgres@${nodes.map((n) => n.host).join(',')}/postgres`;

  beforeAll(async () => {
    primary = await PrivatePostgres.start();
    standby = await PrivatePostgres.standbyOf(primary);
    const direct = await serviceOn(primary.url);
    try {
      await migrate(direct.db);
      const { user, token: issued } = await direct.newUser();
      ({ id: ownerId } = user);
      token = issued;
      existingTitle = (await direct.createProject(token, 'Before any listing')).title;
    } finally {
      await direct.close();
    }
    await standby.caughtUpWith(primary);
  });
  afterAll(async () => {
    await standby?.destroy();
    await primary?.destroy();
  });

  it.each(['read-write', 'primary'])(
    'standby listed first, target_session_attrs=%s: every connection is on the primary, and writes land there',
    async (attrs) => {
      const t = await serviceOn(`${listing(standby, primary)}?target_session_attrs=${attrs}`, { max: 8 });
      try {
        expect(await serverPorts(t, 8)).toEqual(Array(8).fill(primary.port));
        const res = await t.request('POST', '/api/projects', { token, json: { title: `Written with ${attrs}` } });
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        expect(await primary.query('select id, owner_id, title from projects where id = $1', [res.body.data.id])).toEqual([
          { id: res.body.data.id, owner_id: ownerId, title: `Written with ${attrs}` },
        ]);
        expect((await t.request('GET', '/health/ready')).status).toBe(200);
      } finally {
        await t.close();
      }
    },
  );

  it('a first host that refuses connections is passed over for the next', async () => {
    const nobody = { host: `127.0.0.1:${await freePort()}` };
    const t = await serviceOn(listing(nobody, primary), { max: 8 });
    try {
      expect(await serverPorts(t, 8)).toEqual(Array(8).fill(primary.port));
      const res = await t.request('POST', '/api/projects', { token, json: { title: 'Past a dead host' } });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(await primary.query('select title from projects where id = $1', [res.body.data.id])).toEqual([{ title: 'Past a dead host' }]);
    } finally {
      await t.close();
    }
  });

  it.each([
    ['target_session_attrs=any', '?target_session_attrs=any'],
    ['no target_session_attrs (any)', ''],
  ])('standby listed first, %s: the standby is used; reads work, writes are 503 with Retry-After, never 500', async (_name, query) => {
    const t = await serviceOn(`${listing(standby, primary)}${query}`, { max: 2 });
    try {
      expect(await serverPorts(t, 2)).toEqual([standby.port, standby.port]);
      await standby.caughtUpWith(primary);
      const onPrimary = await primary.query<{ title: string }>('select title from projects where owner_id = $1', [ownerId]);
      const list = await t.request('GET', '/api/projects', { token });
      expect(list.status, JSON.stringify(list.body)).toBe(200);
      const titles = list.body.data.map((p: { title: string }) => p.title);
      expect(titles).toContain(existingTitle);
      expect([...titles].sort()).toEqual(onPrimary.map((r) => r.title).sort());
      // Each refused write drops its connection; the next one reaches the standby again, and is refused again.
      for (let attempt = 0; attempt < 3; attempt++) {
        const res = await t.request('POST', '/api/projects', { token, json: { title: 'Refused by a standby' } });
        expect(res.status, JSON.stringify(res.body)).toBe(503);
        expect(res.headers.get('retry-after')).toBe('2');
        expect(res.body).toMatchObject(UNAVAILABLE);
      }
      const ready = await t.request('GET', '/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.headers.get('retry-after')).toBe('2');
      expect(await primary.query(`select id from projects where title = 'Refused by a standby'`)).toEqual([]);
    } finally {
      await t.close();
    }
  });
});

describe('DATABASE_URL listing several hosts, in the configuration', () => {
  it.each([
    'postgres://u@h1:5432,h2:5433/db?target_session_attrs=read-write',
    'postgresql://u:secret@h1,h2:6432/db?target_session_attrs=primary',
    'postgres://u@h1:5432,h2:5432/db',
  ])('%s is accepted as given', (url) => {
    expect(loadConfig({ DATABASE_URL: url }).databaseUrl).toBe(url);
  });

  it.each([
    ['postgres://u@h1:5432,h2:port/db', 'lists a host that is not valid: h2:port'],
    ['postgres://u@h1:5432,/db', 'lists an empty host'],
    ['postgres://u@[::1,h2/db', 'is not a valid URL'],
    [
      'postgres://u@h1,h2/db?target_session_attrs=standby',
      'has target_session_attrs=standby; the service writes, so it takes any, read-write or primary',
    ],
  ])('%s is a ConfigError naming DATABASE_URL, on one line', (url, problem) => {
    const load = () => loadConfig({ DATABASE_URL: url });
    expect(load).toThrow(ConfigError);
    expect(load).toThrow(`Invalid configuration: DATABASE_URL ${problem}`);
    expect(load).not.toThrow(/\n/);
  });
});
