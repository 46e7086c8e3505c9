import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, LIMITS_OFF, loadConfig } from '../src/config.ts';
import { createDb, type Database } from '../src/db/database.ts';
import { Metrics } from '../src/observability/metrics.ts';
import { startMetricsServer } from '../src/observability/metrics-server.ts';
import { freePort } from './support/free-port.ts';
import { onPostgres, startTestApp, testAppOn, uniqueName } from './support/harness.ts';
import { connectClient } from './support/pg-client.ts';
import { hasPrometheus, startPrometheus } from './support/prometheus.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const withPostgres = onPostgres();
if (!withPostgres)
  console.warn('metrics: the statement timeout (57014) case skipped: it needs a PostgreSQL server (set TEST_DATABASE_URL)');
const withPrometheus = hasPrometheus();
if (!withPrometheus)
  console.warn('metrics: the real-Prometheus scrape skipped: /usr/bin/prometheus is missing (apt-get install prometheus)');

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a text exposition (Prometheus format 0.0.4), label values unescaped. */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, raw] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key!] = raw!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The value of the one sample named `name` whose labels are exactly `labels`; undefined when there is none. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = samples.filter(
    (s) =>
      s.name === name &&
      Object.keys(s.labels).length === Object.keys(labels).length &&
      Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} is ambiguous`);
  return found[0]?.value;
}

async function scrape(metrics: Metrics): Promise<Sample[]> {
  return parseExposition(await metrics.registry.metrics());
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The app on a fresh database with its own metrics, counting queries and reading the pool as the Node entry does. */
async function appWithMetrics(env: Record<string, string> = {}, dbOptions: Parameters<typeof startTestApp>[1] = {}) {
  const metrics = new Metrics();
  const t = await startTestApp(env, { ...dbOptions, log: metrics.observeQuery }, { metrics });
  metrics.watchPool(t.testDb.database.pool);
  return { t, metrics };
}

describe('metrics, in process', () => {
  it('a duplicate create counts conflicts_total{resource="project",field="title"}; routes are labelled by pattern; no id, name or title in any label', async () => {
    const { t, metrics } = await appWithMetrics();
    try {
      const { user, token } = await t.newUser();
      const project = await t.createProject(token, 'Roadmap');
      const duplicate = await t.request('POST', '/api/projects', { token, json: { title: 'Roadmap' } });
      expect(duplicate.status).toBe(409);
      expect(duplicate.body).toMatchObject({ code: 'DUPLICATE_RESOURCE', field: 'title', conflict: { id: project.id } });
      expect((await t.request('GET', `/api/projects/${project.id}`, { token })).status).toBe(200);
      const stale = await t.request('PATCH', `/api/projects/${project.id}`, {
        token,
        json: { title: 'Later' },
        headers: { 'if-match': '"7"' },
      });
      expect(stale.status).toBe(412);
      const keyed = () =>
        t.request('POST', '/api/projects', { token, json: { title: 'Keyed' }, headers: { 'idempotency-key': 'metrics-1' } });
      expect((await keyed()).headers.get('idempotent-replayed')).toBeNull();
      expect((await keyed()).headers.get('idempotent-replayed')).toBe('true');
      // A taken username at signup is a refused write; the same name at the availability check is advice.
      const signup = await t.request('POST', '/api/users', {
        json: { username: user.username, email: `${uniqueName()}@example.com`, nickname: 'n', password: 'password-123' },
      });
      expect(signup.body).toMatchObject({ code: 'DUPLICATE_RESOURCE', field: 'username' });
      expect((await t.request('GET', `/api/users/availability?username=${user.username}`)).status).toBe(409);
      expect((await t.request('GET', `/api/projects/${project.id}/nothing/here`, { token })).status).toBe(404);
      // The public app never serves the metrics.
      expect((await t.request('GET', '/metrics')).status).toBe(404);

      const samples = await scrape(metrics);
      expect(valueOf(samples, 'conflicts_total', { resource: 'project', field: 'title' })).toBe(1);
      expect(valueOf(samples, 'conflicts_total', { resource: 'user', field: 'username' })).toBe(1);
      expect(valueOf(samples, 'conflicts_total', { resource: 'user', field: 'email' })).toBe(0);
      expect(valueOf(samples, 'precondition_failures_total')).toBe(1);
      expect(valueOf(samples, 'idempotent_replays_total')).toBe(1);
      const requests = (labels: Record<string, string>) => valueOf(samples, 'http_request_duration_seconds_count', labels);
      // The create, the keyed create and its replay.
      expect(requests({ method: 'POST', route: '/api/projects', status: '201' })).toBe(3);
      expect(requests({ method: 'POST', route: '/api/projects', status: '409' })).toBe(1);
      expect(requests({ method: 'GET', route: '/api/projects/:id', status: '200' })).toBe(1);
      expect(requests({ method: 'PATCH', route: '/api/projects/:id', status: '412' })).toBe(1);
      expect(requests({ method: 'GET', route: '/api/users/availability', status: '409' })).toBe(1);
      expect(requests({ method: 'GET', route: 'unmatched', status: '404' })).toBe(2);
      // The buckets hold every request of the series: the +Inf bucket equals the count.
      expect(
        valueOf(samples, 'http_request_duration_seconds_bucket', { method: 'POST', route: '/api/projects', status: '201', le: '+Inf' }),
      ).toBe(3);
      expect(valueOf(samples, 'db_query_duration_seconds_count', { statement: 'insert' })).toBeGreaterThan(0);
      expect(valueOf(samples, 'db_query_duration_seconds_count', { statement: 'select' })).toBeGreaterThan(0);
      expect(valueOf(samples, 'db_pool_connections', { state: 'total' })).toBeGreaterThanOrEqual(1);
      if (withPostgres) expect(valueOf(samples, 'db_pool_connections', { state: 'waiting' })).toBe(0);
      else expect(valueOf(samples, 'db_pool_connections', { state: 'total' })).toBe(1);
      expect(valueOf(samples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);

      const routes = new Set(samples.flatMap((s) => (s.labels.route === undefined ? [] : [s.labels.route])));
      expect([...routes].sort()).toEqual([
        '/api/projects',
        '/api/projects/:id',
        '/api/sessions',
        '/api/users',
        '/api/users/availability',
        'unmatched',
      ]);
      const values = samples.flatMap((s) => Object.values(s.labels));
      for (const secret of [user.id, project.id, user.username, 'Roadmap', 'Keyed', 'metrics-1']) {
        expect(values.filter((v) => v.includes(secret))).toEqual([]);
      }
    } finally {
      await t.close();
    }
  });

  it('429s are counted by the limit that refused them', async () => {
    const { t, metrics } = await appWithMetrics({ RATE_LIMIT_AVAILABILITY_PER_MINUTE: '1', RATE_LIMIT_LOGIN_FAILURES: '1' });
    try {
      const { user } = await t.signUp();
      const check = () => t.request('GET', `/api/users/availability?username=${uniqueName()}`);
      expect((await check()).status).toBe(200);
      expect((await check()).status).toBe(429);
      const wrong = () => t.request('POST', '/api/sessions', { json: { login: user.username, password: 'wrong-password' } });
      expect((await wrong()).status).toBe(401);
      expect((await wrong()).status).toBe(429);
      const samples = await scrape(metrics);
      expect(valueOf(samples, 'rate_limited_total', { limit: 'availability' })).toBe(1);
      expect(valueOf(samples, 'rate_limited_total', { limit: 'login_failures' })).toBe(1);
      expect(valueOf(samples, 'rate_limited_total', { limit: 'signup' })).toBe(0);
      expect(valueOf(samples, 'rate_limited_total', { limit: 'login' })).toBe(0);
    } finally {
      await t.close();
    }
  });
});

/** Every cause's count of `service_unavailable_total`, by cause. */
async function unavailable(metrics: Metrics): Promise<Record<string, number>> {
  const samples = await scrape(metrics);
  return Object.fromEntries(samples.filter((s) => s.name === 'service_unavailable_total').map((s) => [s.labels.cause, s.value]));
}

const NO_CAUSE = { unreachable: 0, read_only: 0, pool_exhausted: 0, timeout: 0, contention: 0, other: 0 };

describe('503s by cause', () => {
  it('pool exhausted: a query that cannot get a connection in time; the pool gauges show it waiting', async () => {
    const { t, metrics } = await appWithMetrics({}, { max: 1, acquireTimeoutMs: 1_500 });
    try {
      const { token } = await t.newUser();
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      const holding = t.db.connection().execute(() => held);
      const starved = t.request('POST', '/api/projects', { token, json: { title: 'Starved' } });
      if (withPostgres) {
        // node-postgres reports its queue; PGlite's has no count to read.
        await until(async () => valueOf(await scrape(metrics), 'db_pool_connections', { state: 'waiting' }) === 1, 'a query waiting');
        const samples = await scrape(metrics);
        expect(valueOf(samples, 'db_pool_connections', { state: 'total' })).toBe(1);
        expect(valueOf(samples, 'db_pool_connections', { state: 'idle' })).toBe(0);
      }
      const res = await starved;
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('2');
      release();
      await holding;
      expect(await unavailable(metrics)).toEqual({ ...NO_CAUSE, pool_exhausted: 1 });
      expect(await t.db.selectFrom('projects').select('title').where('title', '=', 'Starved').execute()).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('unreachable: the database refuses connections (a write and the readiness probe)', async () => {
    const port = await freePort();
    const metrics = new Metrics();
    const t = await startTestApp();
    const dead = await createDb(`postgres://postgres@127.0.0.1:${port}/none`, {
      max: 1,
      acquireTimeoutMs: 1_000,
      log: metrics.observeQuery,
    });
    try {
      const app = testAppOn(t.testDb, dead.db, {}, { metrics });
      const ready = await app.request('GET', '/health/ready');
      expect(ready.status).toBe(503);
      const signup = await app.request('POST', '/api/users', {
        json: { username: uniqueName(), email: `${uniqueName()}@example.com`, nickname: 'n', password: 'password-123' },
      });
      expect(signup.status).toBe(503);
      expect(await unavailable(metrics)).toEqual({ ...NO_CAUSE, unreachable: 2 });
    } finally {
      await dead.close();
      await t.close();
    }
  });

  it('read only: the database refuses writes (25006), a write and the readiness probe', async () => {
    const t = await startTestApp();
    const metrics = new Metrics();
    const database = t.testDb.database;
    const admin = database.kind === 'postgres' ? await connectClient(t.testDb.directUrl!) : undefined;
    const name = t.testDb.directUrl === undefined ? undefined : new URL(t.testDb.directUrl).pathname.slice(1);
    // PGlite has one session: set there, every later transaction on it is read-only. On PostgreSQL
    // the connections opened after the switch are: a new pool, connected directly, since a pooler
    // could hand it a server session opened before.
    const readOnly = (on: boolean) =>
      database.kind === 'pglite'
        ? database.pglite.exec(on ? 'set default_transaction_read_only = on' : 'reset default_transaction_read_only')
        : admin!.query(`alter database "${name}" ${on ? 'set default_transaction_read_only = on' : 'reset default_transaction_read_only'}`);
    let roDb: Database | undefined;
    try {
      const { token } = await t.newUser();
      await readOnly(true);
      if (database.kind === 'postgres') roDb = await createDb(t.testDb.directUrl!, { max: 2 });
      const ro = testAppOn(t.testDb, roDb?.db ?? t.db, {}, { metrics });
      expect((await ro.request('POST', '/api/projects', { token, json: { title: 'Refused' } })).status).toBe(503);
      expect((await ro.request('GET', '/health/ready')).status).toBe(503);
      expect(await unavailable(metrics)).toEqual({ ...NO_CAUSE, read_only: 2 });
    } finally {
      await readOnly(false);
      await admin?.end();
      await roDb?.close();
      await t.close();
    }
  });

  it.skipIf(!withPostgres)('timeout: a statement past DB_STATEMENT_TIMEOUT_MS (57014)', async () => {
    const { t, metrics } = await appWithMetrics({}, { statementTimeoutMs: 300 });
    const admin = await connectClient(t.testDb.directUrl!);
    try {
      const { token } = await t.newUser();
      await admin.query('begin');
      await admin.query('lock table projects in access exclusive mode');
      const res = await t.request('POST', '/api/projects', { token, json: { title: 'Blocked' } });
      expect(res.status).toBe(503);
      await admin.query('rollback');
      expect(await unavailable(metrics)).toEqual({ ...NO_CAUSE, timeout: 1 });
    } finally {
      await admin.end();
      await t.close();
    }
  });
});

const running = new Set<ChildProcess>();
afterAll(() => {
  for (const proc of running) proc.kill('SIGKILL');
});

/** `dist/server.mjs` (built by the global setup) as its own process with METRICS_PORT set; resolves once it listens. */
async function startServer(databaseUrl: string) {
  const port = await freePort();
  const metricsPort = await freePort();
  const proc = spawn(process.execPath, ['dist/server.mjs'], {
    cwd: root,
    env: {
      ...process.env,
      ...LIMITS_OFF,
      PORT: String(port),
      METRICS_PORT: String(metricsPort),
      DATABASE_URL: databaseUrl,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(proc);
  const lines: string[] = [];
  const stderr: string[] = [];
  proc.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    proc.stdout.on('data', (chunk: Buffer) => {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      if (lines.some((l) => l.includes('"listening"')) && lines.some((l) => l.includes('"serving metrics"'))) resolve();
    });
    proc.once('exit', () => reject(new Error(`server exited early: ${lines.join('\n')} ${stderr.join('')}`)));
  });
  const stop = async () => {
    if (proc.exitCode !== null) return;
    const exited = new Promise((resolve) => proc.once('exit', resolve));
    proc.kill('SIGTERM');
    await exited;
    running.delete(proc);
  };
  return { url: `http://127.0.0.1:${port}`, metricsUrl: `http://127.0.0.1:${metricsPort}`, metricsPort, stop };
}

async function call(url: string, method: string, body?: unknown, token?: string) {
  const res = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json', ...(token && { authorization: `Bearer ${token}` }) },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as any };
}

describe.skipIf(!withPrometheus)('scraped by a real Prometheus', { timeout: 120_000 }, () => {
  it('the server process serves /metrics on METRICS_PORT only; Prometheus reads the conflict count and a latency quantile of the create route', async () => {
    const t = await startTestApp();
    // The server shares the test's PostgreSQL database; on PGlite it runs an embedded one of its own.
    const server = await startServer(t.testDb.url ?? 'pglite://memory');
    const prometheus = await startPrometheus(`127.0.0.1:${server.metricsPort}`);
    try {
      expect((await fetch(`${server.url}/metrics`)).status).toBe(404);
      const exposition = await fetch(`${server.metricsUrl}/metrics`);
      expect(exposition.status).toBe(200);
      expect(exposition.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      expect((await fetch(`${server.metricsUrl}/api/projects`)).status).toBe(404);

      const username = uniqueName();
      const signup = await call(`${server.url}/api/users`, 'POST', {
        username,
        email: `${username}@example.com`,
        nickname: 'n',
        password: 'password-123',
      });
      expect(signup.status).toBe(201);
      const login = await call(`${server.url}/api/sessions`, 'POST', { login: username, password: 'password-123' });
      const token = login.body.data.token as string;
      const create = (title: string) => call(`${server.url}/api/projects`, 'POST', { title }, token);
      expect((await create('First')).status).toBe(201);
      // rate() compares samples: the create route's series must be scraped once before the
      // requests it is to see, as on a server that has been running.
      const createSeries = 'http_request_duration_seconds_count{route="/api/projects",method="POST",status="201"}';
      await until(async () => (await prometheus.query(createSeries))[0]?.value === 1, 'the first create scraped', 30_000);

      for (const title of ['Second', 'Third', 'Fourth', 'Fifth']) expect((await create(title)).status).toBe(201);
      const duplicate = await create('Third');
      expect(duplicate.status).toBe(409);
      expect(duplicate.body).toMatchObject({ code: 'DUPLICATE_RESOURCE', field: 'title' });

      const conflicts = 'conflicts_total{resource="project",field="title"}';
      await until(async () => (await prometheus.query(createSeries))[0]?.value === 5, 'the later creates scraped', 30_000);
      expect(await prometheus.targetUp()).toBe(true);
      expect((await prometheus.query(conflicts)).map((s) => s.value)).toEqual([1]);
      expect((await prometheus.query(`increase(${conflicts}[1m])`))[0]?.value).toBeGreaterThan(0);

      const median = await prometheus.query(
        'histogram_quantile(0.5, sum by (le) (rate(http_request_duration_seconds_bucket{route="/api/projects",method="POST"}[1m])))',
      );
      expect(median).toHaveLength(1);
      const seconds = median[0]!.value;
      console.info(`metrics: Prometheus's median create latency ${(seconds * 1000).toFixed(1)} ms`);
      expect(Number.isFinite(seconds)).toBe(true);
      expect(seconds).toBeGreaterThan(0);
      expect((await prometheus.query('db_pool_connections{state="total"}'))[0]?.value).toBeGreaterThanOrEqual(1);
      expect((await prometheus.query('sum(db_query_duration_seconds_count{statement="insert"})'))[0]?.value).toBeGreaterThan(0);
    } finally {
      await prometheus.stop();
      await server.stop();
      await t.close();
    }
  });
});

describe('METRICS_PORT', () => {
  it('is off when unset, a port when set, and may not be PORT', () => {
    expect(loadConfig({}).metricsPort).toBeUndefined();
    expect(loadConfig({ METRICS_PORT: '' }).metricsPort).toBeUndefined();
    expect(loadConfig({ METRICS_PORT: '9464' }).metricsPort).toBe(9464);
    expect(() => loadConfig({ METRICS_PORT: '8080' })).toThrow(
      new ConfigError('Invalid configuration: METRICS_PORT must differ from PORT'),
    );
    expect(() => loadConfig({ PORT: '9000', METRICS_PORT: '9000' })).toThrow('METRICS_PORT must differ from PORT');
    expect(() => loadConfig({ METRICS_PORT: 'ninety' })).toThrow('Invalid configuration: METRICS_PORT must be a whole number');
  });
});

describe('the metrics listener', () => {
  it('a METRICS_PORT in use stops start-up with one line naming it', { timeout: 120_000 }, async () => {
    const holder = createServer().listen(0);
    await once(holder, 'listening');
    const { port } = holder.address() as AddressInfo;
    try {
      const run = spawnSync(process.execPath, ['dist/server.mjs'], {
        cwd: root,
        env: {
          ...process.env,
          PORT: String(await freePort()),
          METRICS_PORT: String(port),
          DATABASE_URL: 'pglite://memory',
          LOG_LEVEL: 'silent',
        },
        encoding: 'utf8',
        timeout: 100_000,
      });
      expect(run.stderr).toBe(`Cannot listen: METRICS_PORT ${port} is already in use\n`);
      expect(run.status).toBe(1);
    } finally {
      holder.close();
    }
  });

  it('answers /metrics only, with the exposition', async () => {
    const metrics = new Metrics();
    const server = await new Promise<ReturnType<typeof startMetricsServer>>((resolve) => {
      const s = startMetricsServer(metrics, 0, () => resolve(s));
    });
    try {
      const { port } = server.address() as { port: number };
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.status).toBe(200);
      expect(parseExposition(await res.text()).some((s) => s.name === 'nodejs_eventloop_lag_seconds')).toBe(true);
      expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(404);
      expect((await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST' })).status).toBe(404);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
