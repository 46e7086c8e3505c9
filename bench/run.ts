import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { build } from 'esbuild';
import pg from 'pg';
import { createDb } from '../src/db/database.ts';
import { migrate } from '../src/db/migrations.ts';
import { hashPassword } from '../src/users/password.ts';
import { median, svgChart, table, type BenchReport, type Ratio, type Row, type Sample } from './report.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const DATABASE_URL = process.env.DATABASE_URL ?? 'pglite://';
const onPostgres = /^postgres(ql)?:\/\//.test(DATABASE_URL);
const PORT = 18_080;
/** Linux's USER_HZ: /proc reports CPU times in these ticks. */
const TICKS_PER_SECOND = 100;

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

/**
 * A scratch database on the same server (or a temporary PGlite directory, which survives the
 * server restarts between scenarios), so the run neither reads nor litters real data.
 */
async function scratchDatabase(): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  if (!onPostgres) {
    const dir = mkdtempSync(join(tmpdir(), 'projects-api-bench-'));
    return { url: `pglite://${dir}`, name: dir, drop: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })) };
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
    name,
    drop: async () => {
      const again = new pg.Client({ connectionString: DATABASE_URL });
      await again.connect();
      await again.query(`drop database if exists ${name} with (force)`);
      await again.end();
    },
  };
}

/** The peers as a user would run them: bundled and on plain node, like the service (no tsx hooks). */
async function buildPeers(): Promise<void> {
  await build({
    entryPoints: ['bench/peers/hono.ts', 'bench/peers/fastify.ts', 'bench/bare-server.ts'].map((p) => join(root, p)),
    outdir: join(root, 'dist/bench'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outExtension: { '.js': '.mjs' },
    logLevel: 'warning',
  });
}

function start(script: string, env: Record<string, string>, ready: string): Promise<ChildProcess> {
  const proc = spawn(process.execPath, [script], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    proc.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes(ready)) resolve(proc);
    });
    proc.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return;
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.kill('SIGTERM');
  await exited;
}

function rssMb(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : 0;
}

/** utime + stime of a process, in ticks; fields 14 and 15 of /proc/<pid>/stat, counted after the command name. */
function cpuTicks(pid: number | string): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/**
 * CPU ticks of each PostgreSQL backend connected to the bench database. Only those: other work on
 * the same server (this machine is shared) would otherwise count as ours. Backends live as long as
 * the pool that opened them, so they span the whole scenario.
 */
function backendTicks(database: string): Map<string, number> {
  const ticks = new Map<string, number>();
  if (!onPostgres) return ticks;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() !== 'postgres') continue;
      if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(` ${database} `)) continue;
      ticks.set(pid, cpuTicks(pid));
    } catch {
      // The process ended while we looked.
    }
  }
  return ticks;
}

/** Starts counting CPU; the returned function gives µs per request of the process and of the backends. */
function cpuMeter(database: string, pid: number | undefined) {
  const self = process.cpuUsage();
  const node = pid === undefined ? 0 : cpuTicks(pid);
  const backends = backendTicks(database);
  return (requests: number) => {
    const own = process.cpuUsage(self);
    const nodeUs = pid === undefined ? own.user + own.system : ((cpuTicks(pid) - node) * 1e6) / TICKS_PER_SECOND;
    let dbTicks = 0;
    for (const [backend, now] of backendTicks(database)) dbTicks += now - (backends.get(backend) ?? 0);
    const per = (us: number) => (requests > 0 ? us / requests : 0);
    return { nodeCpuUs: per(nodeUs), ...(onPostgres && { dbCpuUs: per((dbTicks * 1e6) / TICKS_PER_SECOND) }) };
  };
}

interface Load {
  method: 'GET' | 'POST';
  path: string | (() => string);
  headers?: Record<string, string>;
  /** Headers that differ per request, such as an Idempotency-Key. */
  perRequestHeaders?: () => Record<string, string>;
  body?: () => string;
  expected: number[];
}

/** Drives one scenario with autocannon, sampling the server's RSS and CPU; errors are unexpected statuses and socket errors. */
async function drive(port: number, pid: number, database: string, load: Load): Promise<Sample> {
  let peakRss = rssMb(pid);
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMb(pid))), 250);
  const cpu = cpuMeter(database, pid);
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
          ...(load.perRequestHeaders && { headers: { ...req.headers, ...load.perRequestHeaders() } }),
        }),
      },
    ],
  });
  const requests = result.requests.total;
  const used = cpu(requests);
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
    requests,
    ...used,
  };
}

/** `CONNECTIONS` loops calling `op` for the scenario's duration, as a sample (latency per call). */
async function loops(database: string, op: (i: number) => Promise<unknown>): Promise<Sample> {
  const latencies: number[] = [];
  const cpu = cpuMeter(database, undefined);
  let n = 0;
  const started = performance.now();
  const end = Date.now() + DURATION * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (Date.now() < end) {
        const t = performance.now();
        await op(n++);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    requestsPerSecond: latencies.length / seconds,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    errors: 0,
    requests: latencies.length,
    ...cpu(latencies.length),
  };
}

const RAW_INSERT = `insert into projects (owner_id, title, title_key) values ($1, $2, $3)
  on conflict (owner_id, title_key) where deleted_at is null and title_key is not null do nothing returning id`;

/** The database's limit: the raw driver running a one-row INSERT … ON CONFLICT DO NOTHING RETURNING from 32 loops (pgbench-like). */
async function rawInserts(url: string, database: string, ownerId: string, round: number): Promise<Sample> {
  if (onPostgres) {
    const pool = new pg.Pool({ connectionString: url, max: CONNECTIONS });
    pool.on('error', () => undefined);
    // Connect the whole pool first, so the loop measures statements and not connection set-up.
    await Promise.all(Array.from({ length: CONNECTIONS }, () => pool.query('select 1')));
    try {
      return await loops(database, (i) => pool.query(RAW_INSERT, [ownerId, `raw-${round}-${i}`, `raw-${round}-${i}`]));
    } finally {
      await pool.end();
    }
  }
  const embedded = await createDb('pglite://memory');
  await migrate(embedded.db);
  if (embedded.kind !== 'pglite') throw new Error('expected PGlite');
  const { pglite } = embedded;
  await pglite.query(`insert into users (id, username, email, nickname, password_hash) values ($1, 'raw', 'raw@example.com', 'raw', 'x')`, [
    ownerId,
  ]);
  try {
    return await loops(database, (i) => pglite.query(RAW_INSERT, [ownerId, `raw-${i}`, `raw-${i}`]));
  } finally {
    await embedded.close();
  }
}

async function json(port: number, path: string, init: { method: string; body?: unknown; token?: string }) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: init.method,
    headers: { 'content-type': 'application/json', ...(init.token && { authorization: `Bearer ${init.token}` }) },
    ...(init.body !== undefined && { body: JSON.stringify(init.body) }),
  });
  return (await res.json()) as { data: Record<string, any> };
}

interface Entry {
  name: string;
  kind: Row['kind'];
  run: (round: number) => Promise<Sample>;
}

function ratio(a: Row, b: Row): Ratio {
  const per = a.samples.map((s, i) => s.requestsPerSecond / b.samples[i]!.requestsPerSecond);
  return { to: b.name, median: median(per), min: Math.min(...per), max: Math.max(...per) };
}

function summarise(name: string, kind: Row['kind'], samples: Sample[]): Row {
  const of = (pick: (s: Sample) => number | undefined) => {
    const values = samples.map(pick).filter((v): v is number => v !== undefined);
    return values.length ? median(values) : undefined;
  };
  const rps = samples.map((s) => s.requestsPerSecond);
  const rss = samples.map((s) => s.rssMb).filter((v): v is number => v !== undefined);
  return {
    name,
    kind,
    samples,
    median: {
      requestsPerSecond: median(rps),
      p50Ms: of((s) => s.p50Ms)!,
      p99Ms: of((s) => s.p99Ms)!,
      errors: Math.max(...samples.map((s) => s.errors)),
      requests: of((s) => s.requests)!,
      ...(rss.length && { rssMb: Math.max(...rss) }),
      ...(of((s) => s.nodeCpuUs) !== undefined && { nodeCpuUs: of((s) => s.nodeCpuUs) }),
      ...(of((s) => s.dbCpuUs) !== undefined && { dbCpuUs: of((s) => s.dbCpuUs) }),
    },
    spread: [Math.min(...rps), Math.max(...rps)],
    ratios: [],
    targets: [],
  };
}

const SERVICE_ENV = {
  LOG_LEVEL: 'info',
  RATE_LIMIT_AVAILABILITY_PER_MINUTE: '0',
  RATE_LIMIT_SIGNUP_PER_MINUTE: '0',
  RATE_LIMIT_LOGIN_PER_MINUTE: '0',
  RATE_LIMIT_LOGIN_FAILURES: '0',
};

async function main(): Promise<void> {
  await buildPeers();
  const scratch = await scratchDatabase();
  const children = new Set<ChildProcess>();
  try {
    log(`database: ${onPostgres ? 'postgres' : 'pglite'}; ${CONNECTIONS} connections, ${DURATION} s per scenario, ${ROUNDS} rounds`);
    // Each scenario gets a fresh process, so its RSS is that workload's and not what an earlier
    // one left behind (argon2's 19 MiB blocks stay in malloc's arenas after signup).
    const serve = async (script: string, load: Load, env: Record<string, string> = {}) => {
      const proc = await start(script, { PORT: String(PORT), DATABASE_URL: scratch.url, ...env }, 'listening');
      children.add(proc);
      try {
        return await drive(PORT, proc.pid!, scratch.name, load);
      } finally {
        await stop(proc);
        children.delete(proc);
      }
    };
    // The service as `npm start` runs it: the esbuild bundle on plain node (`npm run bench` builds it).
    const service = (load: Load) => serve('dist/server.mjs', load, SERVICE_ENV);

    const setup = await start('dist/server.mjs', { PORT: String(PORT), DATABASE_URL: scratch.url, ...SERVICE_ENV }, 'listening');
    children.add(setup);
    const user = (
      await json(PORT, '/api/users', {
        method: 'POST',
        body: { username: 'bencher', password: 'password-123', nickname: 'b', email: 'bencher@example.com' },
      })
    ).data;
    const token = (await json(PORT, '/api/sessions', { method: 'POST', body: { login: 'bencher', password: 'password-123' } })).data
      .token as string;
    const project = (await json(PORT, '/api/projects', { method: 'POST', token, body: { title: 'Existing' } })).data;
    for (let i = 0; i < 30; i++) await json(PORT, '/api/projects', { method: 'POST', token, body: { title: `Listed ${i}` } });
    await stop(setup);
    children.delete(setup);

    const auth = { authorization: `Bearer ${token}` };
    let seq = 0;
    const unique = () => `${process.pid.toString(36)}${(seq++).toString(36)}`;
    const create: Load = {
      method: 'POST',
      path: '/api/projects',
      headers: auth,
      body: () => JSON.stringify({ title: `P ${unique()}` }),
      expected: [201],
    };
    const getOne: Load = { method: 'GET', path: `/api/projects/${project.id as string}`, headers: auth, expected: [200] };

    // Interleaved: each round runs every row once, service next to the peer it is compared with,
    // so a slow minute of this shared machine lands on both sides of a ratio.
    const entries: Entry[] = [
      {
        name: 'signup',
        kind: 'service',
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
        run: () => loops(scratch.name, (i) => hashPassword(`password-${i}`)),
      },
      {
        name: 'availability',
        kind: 'service',
        run: () => service({ method: 'GET', path: () => `/api/users/availability?username=a${unique()}`, expected: [200] }),
      },
      {
        name: 'bare Hono route',
        kind: 'baseline',
        run: () => serve('dist/bench/bare-server.mjs', { method: 'GET', path: '/', expected: [200] }),
      },
      { name: 'create project', kind: 'service', run: () => service(create) },
      ...(onPostgres
        ? [
            { name: 'Hono + pg create', kind: 'peer' as const, run: () => serve('dist/bench/peers/hono.mjs', create) },
            { name: 'Fastify + pg pre-check create', kind: 'peer' as const, run: () => serve('dist/bench/peers/fastify.mjs', create) },
          ]
        : []),
      { name: 'raw driver INSERT', kind: 'baseline', run: (round) => rawInserts(scratch.url, scratch.name, user.id as string, round) },
      {
        name: 'create duplicate (409)',
        kind: 'service',
        run: () => service({ ...create, body: () => '{"title":"Existing"}', expected: [409] }),
      },
      {
        name: 'keyed create',
        kind: 'service',
        run: () => service({ ...create, perRequestHeaders: () => ({ 'idempotency-key': `k-${unique()}` }) }),
      },
      { name: 'get project', kind: 'service', run: () => service(getOne) },
      ...(onPostgres ? [{ name: 'Hono + pg get', kind: 'peer' as const, run: () => serve('dist/bench/peers/hono.mjs', getOne) }] : []),
      {
        name: 'list projects',
        kind: 'service',
        run: () => service({ method: 'GET', path: '/api/projects?limit=20', headers: auth, expected: [200] }),
      },
    ];
    // BENCH_ONLY=name,name runs only those rows (a development aid; targets need their pairs).
    const only = process.env.BENCH_ONLY?.split(',');
    if (only) entries.splice(0, entries.length, ...entries.filter((e) => only.includes(e.name)));
    const samples = new Map<string, Sample[]>(entries.map((e) => [e.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      // Every other round backwards, so neither side of a pair always runs first.
      const order = round % 2 ? [...entries].reverse() : entries;
      for (const entry of order) {
        log(`round ${round + 1}/${ROUNDS}: ${entry.name}`);
        samples.get(entry.name)!.push(await entry.run(round));
      }
    }

    const rows = entries.map((e) => summarise(e.name, e.kind, samples.get(e.name)!));
    const row = (name: string) => rows.find((r) => r.name === name);
    // Issue 11's targets: [scenario, compared with, at least this ratio].
    const goals: [string, string, number][] = [
      ['create project', 'Hono + pg create', 1.0],
      ['create project', 'Fastify + pg pre-check create', 1.2],
      ['create project', 'raw driver INSERT', 0.55],
      ['create duplicate (409)', 'create project', 1.0],
      ['create duplicate (409)', 'raw driver INSERT', 0.65],
      ['keyed create', 'create project', 0.5],
      ['get project', 'Hono + pg get', 0.9],
      ['signup', 'argon2id hashes', 0.9],
      ['availability', 'bare Hono route', 0.5],
    ];
    // What each scenario's chart bar compares with: what bounds it.
    const bounds: Record<string, string> = {
      signup: 'argon2id hashes',
      availability: 'bare Hono route',
      'create project': onPostgres ? 'Hono + pg create' : 'raw driver INSERT',
      'create duplicate (409)': 'raw driver INSERT',
      'keyed create': 'create project',
      'get project': onPostgres ? 'Hono + pg get' : 'bare Hono route',
      'list projects': 'bare Hono route',
    };
    const peers = rows.filter((r) => r.kind === 'peer').map((r) => r.name);
    for (const r of rows) {
      if (r.kind === 'baseline') continue;
      const service = r.kind === 'service';
      const names = [
        ...(service ? [bounds[r.name]!, ...goals.filter(([s]) => s === r.name).map(([, to]) => to), ...peers] : []),
        'raw driver INSERT',
      ];
      const against = [...new Set(names)].map(row).filter((o): o is Row => o !== undefined);
      r.ratios = against.map((other) => ratio(r, other));
      if (service) r.chart = r.ratios.find((q) => q.to === bounds[r.name]);
    }
    for (const [name, to, min] of goals) {
      const r = row(name);
      const q = r?.ratios.find((x) => x.to === to);
      if (r && q) r.targets.push({ text: `≥ ${min.toFixed(2)} × ${to}`, met: q.median >= min });
    }
    const created = row('create project');
    created?.targets.push({ text: 'p99 ≤ 25 ms', met: created.median.p99Ms <= 25 });
    for (const r of rows.filter((r) => r.kind === 'service')) {
      r.targets.push({ text: '0 errors', met: r.median.errors === 0 }, { text: 'RSS ≤ 200 MB', met: (r.median.rssMb ?? 0) <= 200 });
    }

    const report: BenchReport = {
      date: new Date().toISOString(),
      database: onPostgres ? 'postgres' : 'pglite',
      connections: CONNECTIONS,
      durationSeconds: DURATION,
      rounds: ROUNDS,
      machine: { cpus: cpus().length, node: process.version },
      rows,
    };
    const stem = `bench/results/${report.database}`;
    writeFileSync(`${root}${stem}.json`, `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(`${root}${stem}.svg`, svgChart(report));
    process.stdout.write(`${table(report)}\n\nwritten: ${stem}.json, ${stem}.svg\n`);
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await scratch.drop();
  }
}

await main();
