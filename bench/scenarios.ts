import { hashPassword } from '../src/users/password.ts';
import type { Load } from './load.ts';
import { loops } from './load.ts';
import { rawInserts } from './raw-insert.ts';
import type { RowGoals, Row, Sample } from './report.ts';
import { ON_POSTGRES } from './settings.ts';

/** A row of the report: what runs it, and what it is judged against. */
export interface Scenario extends RowGoals {
  kind: Row['kind'];
  run: (round: number) => Promise<Sample>;
}

/** The database's limit, which every service and peer row is also compared with. */
export const RAW_INSERT_ROW = 'raw driver INSERT';

/** What the scenarios read and write, made before any of them runs. */
export interface Seed {
  userId: string;
  token: string;
  projectId: string;
}

async function json(port: number, path: string, init: { method: string; body?: unknown; token?: string }) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: init.method,
    headers: { 'content-type': 'application/json', ...(init.token && { authorization: `Bearer ${init.token}` }) },
    ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
  });
  return (await res.json()) as { data: Record<string, any> };
}

/** Through the service listening on `port`: a user, a session, the project 'Existing' that the 409 row hits, 30 more to list. */
export async function seed(port: number): Promise<Seed> {
  const user = (
    await json(port, '/api/users', {
      method: 'POST',
      body: { username: 'bencher', password: 'password-123', nickname: 'b', email: 'bencher@example.com' },
    })
  ).data;
  const token = (await json(port, '/api/sessions', { method: 'POST', body: { login: 'bencher', password: 'password-123' } })).data
    .token as string;
  const project = (await json(port, '/api/projects', { method: 'POST', token, body: { title: 'Existing' } })).data;
  for (let i = 0; i < 30; i++) await json(port, '/api/projects', { method: 'POST', token, body: { title: `Listed ${i}` } });
  return { userId: user.id as string, token, projectId: project.id as string };
}

export interface ScenarioContext {
  seed: Seed;
  /** The scratch database's URL, and its name for counting PostgreSQL's CPU (undefined on PGlite). */
  databaseUrl: string;
  postgresDatabase: string | undefined;
  /** Runs the built script `script` in a fresh process and drives it with `load`. */
  serve: (script: string, load: Load) => Promise<Sample>;
  /** The same for the service, as `npm start` runs it, with `env` on top of the bench's. */
  service: (load: Load, env?: Record<string, string>) => Promise<Sample>;
  /** The scratch database through a PgBouncer in transaction mode (PostgreSQL with pgbouncer installed). */
  pooledUrl: string | undefined;
  /** A distributed scratch database on Citus (BENCH_CITUS_URL), seeded like the other. */
  citus: { url: string; seed: Seed } | undefined;
}

/**
 * Every row, in report order. Interleaved: each round runs every row once, service next to the
 * peer it is compared with, so a slow minute of this shared machine lands on both sides of a ratio.
 * `bound` is what bounds the scenario (its chart bar); `atLeast` are issue 11's targets.
 */
export function scenarios({ seed: seeded, databaseUrl, postgresDatabase, serve, service, pooledUrl, citus }: ScenarioContext): Scenario[] {
  const auth = { authorization: `Bearer ${seeded.token}` };
  let seq = 0;
  const unique = () => `${process.pid.toString(36)}${(seq++).toString(36)}`;
  const create: Load = {
    method: 'POST',
    path: '/api/projects',
    headers: auth,
    body: () => JSON.stringify({ title: `P ${unique()}` }),
    expected: [201],
  };
  const getOne: Load = { method: 'GET', path: `/api/projects/${seeded.projectId}`, headers: auth, expected: [200] };

  return [
    {
      name: 'signup',
      kind: 'service',
      bound: 'argon2id hashes',
      atLeast: [['argon2id hashes', 0.9]],
      run: () =>
        service({
          method: 'POST',
          path: '/api/users',
          body: () => {
            const u = `s${unique()}`;
            return JSON.stringify({ username: u, password: 'password-123', nickname: 'n', email: `${u}@example.com` });
          },
          expected: [201],
        }),
    },
    {
      name: 'argon2id hashes',
      kind: 'baseline',
      run: () => loops(postgresDatabase, (i) => hashPassword(`password-${i}`)),
    },
    {
      name: 'availability',
      kind: 'service',
      bound: 'bare Hono route',
      atLeast: [['bare Hono route', 0.5]],
      run: () => service({ method: 'GET', path: () => `/api/users/availability?username=a${unique()}`, expected: [200] }),
    },
    {
      name: 'bare Hono route',
      kind: 'baseline',
      run: () => serve('dist/bench/bare-server.mjs', { method: 'GET', path: '/', expected: [200] }),
    },
    {
      name: 'create project',
      kind: 'service',
      bound: ON_POSTGRES ? 'Hono + pg create' : RAW_INSERT_ROW,
      atLeast: [
        ['Hono + pg create', 1.0],
        ['Fastify + pg pre-check create', 1.2],
        [RAW_INSERT_ROW, 0.55],
      ],
      p99AtMostMs: 25,
      run: () => service(create),
    },
    ...(ON_POSTGRES
      ? [
          {
            // What unnamed statements (the default, safe behind any pooler) cost against named ones.
            name: 'create with prepared statements',
            kind: 'service' as const,
            bound: 'Hono + pg create',
            run: () => service(create, { DB_PREPARED_STATEMENTS: 'true' }),
          },
        ]
      : []),
    ...(pooledUrl === undefined
      ? []
      : [
          {
            name: 'create via PgBouncer (transaction)',
            kind: 'service' as const,
            bound: 'create project',
            atLeast: [['create project', 0.8]] as [string, number][],
            run: () => service(create, { DATABASE_URL: pooledUrl }),
          },
        ]),
    ...(citus === undefined
      ? []
      : [
          {
            // The same API and load on a distributed database; PostgreSQL's CPU is not counted there.
            name: 'create on Citus',
            kind: 'service' as const,
            bound: 'create project',
            atLeast: [['create project', 0.5]] as [string, number][],
            run: () => service({ ...create, headers: { authorization: `Bearer ${citus.seed.token}` } }, { DATABASE_URL: citus.url }),
          },
        ]),
    ...(ON_POSTGRES
      ? [
          { name: 'Hono + pg create', kind: 'peer' as const, run: () => serve('dist/bench/peers/hono.mjs', create) },
          { name: 'Fastify + pg pre-check create', kind: 'peer' as const, run: () => serve('dist/bench/peers/fastify.mjs', create) },
        ]
      : []),
    {
      name: RAW_INSERT_ROW,
      kind: 'baseline',
      run: (round) => rawInserts(databaseUrl, postgresDatabase, seeded.userId, round),
    },
    {
      name: 'create duplicate (409)',
      kind: 'service',
      bound: RAW_INSERT_ROW,
      atLeast: [
        ['create project', 1.0],
        [RAW_INSERT_ROW, 0.65],
      ],
      run: () => service({ ...create, body: () => '{"title":"Existing"}', expected: [409] }),
    },
    {
      name: 'keyed create',
      kind: 'service',
      bound: 'create project',
      atLeast: [['create project', 0.5]],
      run: () => service({ ...create, perRequestHeaders: () => ({ 'idempotency-key': `k-${unique()}` }) }),
    },
    {
      name: 'get project',
      kind: 'service',
      bound: ON_POSTGRES ? 'Hono + pg get' : 'bare Hono route',
      atLeast: [['Hono + pg get', 0.9]],
      run: () => service(getOne),
    },
    ...(ON_POSTGRES ? [{ name: 'Hono + pg get', kind: 'peer' as const, run: () => serve('dist/bench/peers/hono.mjs', getOne) }] : []),
    {
      name: 'list projects',
      kind: 'service',
      bound: 'bare Hono route',
      run: () => service({ method: 'GET', path: '/api/projects?limit=20', headers: auth, expected: [200] }),
    },
  ];
}
