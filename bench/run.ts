import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import { createDb } from '../src/db/database.ts';
import { migrate } from '../src/db/migrations.ts';
import { hashPassword } from '../src/users/password.ts';
import { svgChart, table, type BenchReport, type ScenarioResult } from './report.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const DATABASE_URL = process.env.DATABASE_URL ?? 'pglite://';
const onPostgres = /^postgres(ql)?:\/\//.test(DATABASE_URL);
const PORT = 18_080;
const BARE_PORT = 18_081;

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

/**
 * A scratch database on the same server (or a temporary PGlite directory, which survives the
 * server restarts between scenarios), so the run neither reads nor litters real data.
 */
async function scratchDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  if (!onPostgres) {
    const dir = mkdtempSync(join(tmpdir(), 'projects-api-bench-'));
    return { url: `pglite://${dir}`, drop: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })) };
  }
  const name = `projects_api_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const again = new pg.Client({ connectionString: DATABASE_URL });
      await again.connect();
      await again.query(`drop database if exists ${name} with (force)`);
      await again.end();
    },
  };
}

function start(args: string[], env: Record<string, string>, ready: string): Promise<ChildProcess> {
  const proc = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    proc.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes(ready)) resolve(proc);
    });
    proc.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}`)));
  });
}

function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : 0;
}

interface Load {
  method: 'GET' | 'POST';
  path: string | (() => string);
  headers?: Record<string, string>;
  body?: () => string;
  /** Headers that differ per request (an `Idempotency-Key`). */
  headersPerRequest?: () => Record<string, string>;
  expected: number[];
}

/** Drives one scenario with autocannon, sampling the server's RSS; errors are unexpected statuses and socket errors. */
async function drive(port: number, pid: number, load: Load) {
  let peakRss = rssMb(pid);
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMb(pid))), 250);
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: DURATION,
    requests: [
      {
        method: load.method,
        path: typeof load.path === 'string' ? load.path : '/',
        headers: { 'content-type': 'application/json', ...load.headers },
        setupRequest: (req) => ({
          ...req,
          ...(typeof load.path === 'function' && { path: load.path() }),
          ...(load.body && { body: load.body() }),
          ...(load.headersPerRequest && { headers: { ...req.headers, ...load.headersPerRequest() } }),
        }),
      },
    ],
  });
  clearInterval(sampler);
  const statuses = result.statusCodeStats as unknown as Record<string, { count: number }>;
  const unexpected = Object.entries(statuses)
    .filter(([code]) => !load.expected.includes(Number(code)))
    .reduce((n, [, { count }]) => n + count, 0);
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: unexpected + result.errors + result.timeouts,
    rssMb: peakRss,
  };
}

/** The database's limit: the raw driver running the app's INSERT … ON CONFLICT DO NOTHING at the same concurrency. */
async function rawInsertsPerSecond(url: string, ownerId: string): Promise<number> {
  const text = `insert into projects (owner_id, title, title_key) values ($1, $2, $3)
    on conflict (owner_id, title_key) where deleted_at is null and title_key is not null do nothing returning id`;
  let run: (params: unknown[]) => Promise<unknown>;
  let close: () => Promise<void>;
  if (onPostgres) {
    const pool = new pg.Pool({ connectionString: url, max: CONNECTIONS });
    pool.on('error', () => undefined);
    run = (params) => pool.query(text, params);
    close = () => pool.end();
  } else {
    const database = await createDb('pglite://memory');
    await migrate(database.db);
    if (database.kind !== 'pglite') throw new Error('expected PGlite');
    await database.pglite.query(`insert into users (id, username, email, nickname, password_hash) values ($1, 'raw', 'raw@example.com', 'raw', 'x')`, [ownerId]);
    run = (params) => database.pglite.query(text, params);
    close = () => database.close();
  }
  let n = 0;
  const end = Date.now() + DURATION * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async (_, worker) => {
      while (Date.now() < end) {
        const key = `raw-${worker}-${n++}`;
        await run([ownerId, key, key]);
      }
    }),
  );
  await close();
  return n / DURATION;
}

/** The signup limit: argon2id hashes per second at the app's parameters, with as many in flight as connections. */
async function argon2PerSecond(): Promise<number> {
  let n = 0;
  const seconds = Math.min(DURATION, 5);
  const end = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (Date.now() < end) {
        await hashPassword(`password-${n}`);
        n++;
      }
    }),
  );
  return n / seconds;
}

async function json(port: number, path: string, init: { method: string; body?: unknown; token?: string }) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: init.method,
    headers: { 'content-type': 'application/json', ...(init.token && { authorization: `Bearer ${init.token}` }) },
    ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
  });
  return (await res.json()) as { data: Record<string, any> };
}

async function main(): Promise<void> {
  const scratch = await scratchDatabase();
  const children: ChildProcess[] = [];
  try {
    log(`database: ${onPostgres ? 'postgres' : 'pglite'}; ${CONNECTIONS} connections, ${DURATION} s per scenario`);
    // The server as `npm start` runs it: the esbuild bundle on plain node (`npm run bench` builds it).
    // Each scenario gets a fresh process, so its RSS is that workload's and not what an earlier
    // one left behind (argon2's 19 MiB blocks stay in malloc's arenas after signup).
    const startServer = async () => {
      const server = await start(
        ['dist/server.mjs'],
        {
          PORT: String(PORT),
          DATABASE_URL: scratch.url,
          LOG_LEVEL: 'info',
          RATE_LIMIT_AVAILABILITY_PER_MINUTE: '0',
          RATE_LIMIT_SIGNUP_PER_MINUTE: '0',
          RATE_LIMIT_LOGIN_PER_MINUTE: '0',
          RATE_LIMIT_LOGIN_FAILURES: '0',
        },
        '"listening"',
      );
      children.push(server);
      return server;
    };
    const stopServer = async (server: ChildProcess) => {
      server.kill('SIGTERM');
      await new Promise((resolve) => server.once('exit', resolve));
    };
    const setup = await startServer();
    const user = (await json(PORT, '/api/users', { method: 'POST', body: { username: 'bencher', password: 'password-123', nickname: 'b', email: 'bencher@example.com' } })).data;
    const token = (await json(PORT, '/api/sessions', { method: 'POST', body: { login: 'bencher', password: 'password-123' } })).data.token as string;
    const project = (await json(PORT, '/api/projects', { method: 'POST', token, body: { title: 'Existing' } })).data;
    for (let i = 0; i < 30; i++) await json(PORT, '/api/projects', { method: 'POST', token, body: { title: `Listed ${i}` } });
    const auth = { authorization: `Bearer ${token}` };
    let seq = 0;
    const unique = () => `${process.pid.toString(36)}${(seq++).toString(36)}`;

    const loads: { name: string; load: Load; baseline: 'argon2' | 'bare' | 'raw' }[] = [
      {
        name: 'signup',
        baseline: 'argon2',
        load: {
          method: 'POST',
          path: '/api/users',
          body: () => {
            const u = `s${unique()}`;
            return JSON.stringify({ username: u, password: 'password-123', nickname: 'n', email: `${u}@example.com` });
          },
          expected: [201],
        },
      },
      { name: 'availability', baseline: 'bare', load: { method: 'GET', path: () => `/api/users/availability?username=a${unique()}`, expected: [200] } },
      { name: 'create project', baseline: 'raw', load: { method: 'POST', path: '/api/projects', headers: auth, body: () => JSON.stringify({ title: `P ${unique()}` }), expected: [201] } },
      {
        name: 'create project, keyed',
        baseline: 'raw',
        load: {
          method: 'POST',
          path: '/api/projects',
          headers: auth,
          headersPerRequest: () => ({ 'idempotency-key': `k${unique()}` }),
          body: () => JSON.stringify({ title: `K ${unique()}` }),
          expected: [201],
        },
      },
      { name: 'create duplicate (409)', baseline: 'raw', load: { method: 'POST', path: '/api/projects', headers: auth, body: () => '{"title":"Existing"}', expected: [409] } },
      { name: 'get project', baseline: 'bare', load: { method: 'GET', path: `/api/projects/${project.id as string}`, headers: auth, expected: [200] } },
      { name: 'list projects', baseline: 'bare', load: { method: 'GET', path: '/api/projects?limit=20', headers: auth, expected: [200] } },
    ];
    await stopServer(setup);
    const measured = [];
    for (const { name, load, baseline } of loads) {
      log(`scenario: ${name}`);
      const server = await startServer();
      measured.push({ name, baseline, ...(await drive(PORT, server.pid!, load)) });
      await stopServer(server);
    }

    log('baseline: bare Hono route');
    const bare = await start(['--import', 'tsx', 'bench/bare-server.ts', String(BARE_PORT)], {}, 'listening');
    children.push(bare);
    const bareResult = await drive(BARE_PORT, bare.pid!, { method: 'GET', path: '/', expected: [200] });
    bare.kill('SIGTERM');
    log('baseline: raw driver insert');
    const raw = await rawInsertsPerSecond(scratch.url, user.id as string);
    log('baseline: argon2id');
    const argon2 = await argon2PerSecond();
    const baselines = { argon2: argon2, bare: bareResult.requestsPerSecond, raw };
    const labels = { argon2: 'argon2id hashes', bare: 'bare Hono route', raw: 'raw driver INSERT' };

    const scenarios: ScenarioResult[] = measured.map((m) => ({
      name: m.name,
      requestsPerSecond: m.requestsPerSecond,
      p50Ms: m.p50Ms,
      p99Ms: m.p99Ms,
      errors: m.errors,
      rssMb: m.rssMb,
      baseline: labels[m.baseline],
      baselinePerSecond: baselines[m.baseline],
      ratio: m.requestsPerSecond / baselines[m.baseline],
      targets: [
        { text: '0 errors', met: m.errors === 0 },
        { text: 'RSS ≤ 200 MB', met: m.rssMb <= 200 },
      ],
    }));
    const byName = (n: string) => scenarios.find((s) => s.name === n)!;
    const create = byName('create project');
    create.targets.unshift({ text: '≥ 0.8 × raw insert', met: create.ratio >= 0.8 }, { text: 'p99 ≤ 25 ms', met: create.p99Ms <= 25 });
    const duplicate = byName('create duplicate (409)');
    duplicate.targets.unshift({ text: '≥ create project', met: duplicate.requestsPerSecond >= create.requestsPerSecond });
    const availability = byName('availability');
    availability.targets.unshift({ text: '≥ 0.5 × bare route', met: availability.ratio >= 0.5 });

    const report: BenchReport = {
      date: new Date().toISOString(),
      database: onPostgres ? 'postgres' : 'pglite',
      connections: CONNECTIONS,
      durationSeconds: DURATION,
      machine: { cpus: cpus().length, node: process.version },
      baselines,
      scenarios,
    };
    const stem = `bench/results/${report.database}`;
    writeFileSync(`${root}${stem}.json`, `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(`${root}${stem}.svg`, svgChart(report));
    process.stdout.write(`${table(report)}\n\nbaselines: argon2id ${baselines.argon2.toFixed(0)} hashes/s, bare route ${baselines.bare.toFixed(0)} req/s, raw INSERT ${baselines.raw.toFixed(0)}/s\nwritten: ${stem}.json, ${stem}.svg\n`);
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await scratch.drop();
  }
}

await main();
