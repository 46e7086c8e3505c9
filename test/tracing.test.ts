import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { LogEvent } from 'kysely';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { requestTracing } from '../src/observability/tracing.ts';
import { freePort } from './support/free-port.ts';
import { startTestApp, type TestApp } from './support/harness.ts';
import { LambdaContainer } from './support/lambda-container.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
/** Every statement Kysely logged, as the tracing hook saw it. */
const events: LogEvent[] = [];
let t: TestApp;

beforeAll(async () => {
  const tracing = await requestTracing(provider.getTracer('test'));
  const log = (event: LogEvent) => {
    events.push(event);
    tracing.queryLog(event);
  };
  // One connection, so that concurrent requests' statements interleave on it; a query that
  // cannot have it within a second is a 503.
  t = await startTestApp({}, { max: 1, acquireTimeoutMs: 1_000, log }, { tracing });
});
afterAll(async () => {
  await t.close();
  await provider.shutdown();
});

/** Clears what was recorded, runs `work`, and returns the spans and statements it made. */
async function recording(work: () => Promise<unknown>) {
  exporter.reset();
  events.length = 0;
  await work();
  const spans = exporter.getFinishedSpans();
  return { spans, servers: spans.filter((s) => s.kind === SpanKind.SERVER), statements: [...events] };
}

const ms = ([seconds, nanos]: [number, number]) => seconds * 1_000 + nanos / 1e6;
const childrenOf = (spans: ReadableSpan[], parent: ReadableSpan) =>
  spans.filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId);
const attributeValues = (spans: ReadableSpan[]) => spans.flatMap((s) => Object.values(s.attributes).map(String));

describe('traces', () => {
  it('a create is one server span named by its route, with a child span per statement and no parameter values', async () => {
    const { token } = await t.newUser();
    const title = `Tracing title ${Date.now()}`;
    let requestId = '';
    const { spans, servers, statements } = await recording(async () => {
      const res = await t.request('POST', '/api/projects', { token, json: { title, description: 'traced description' } });
      expect(res.status).toBe(201);
      requestId = res.headers.get('x-request-id')!;
    });

    expect(servers).toHaveLength(1);
    const server = servers[0]!;
    expect(server.name).toBe('POST /api/projects');
    expect(server.attributes).toEqual({
      'http.request.method': 'POST',
      'http.route': '/api/projects',
      'http.response.status_code': 201,
      'request.id': requestId,
    });
    expect(server.status.code).toBe(SpanStatusCode.UNSET);
    expect(server.parentSpanContext).toBeUndefined();

    // One child per statement, in order, each with the statement's SQL and its own duration.
    const db = spans.filter((s) => s !== server);
    expect(db.length).toBeGreaterThan(0);
    expect(childrenOf(spans, server)).toEqual(db);
    expect(db.map((s) => s.attributes['db.query.text'])).toEqual(statements.map((e) => e.query.sql));
    db.forEach((span, i) => {
      const event = statements[i]!;
      expect(span.kind).toBe(SpanKind.CLIENT);
      expect(span.spanContext().traceId).toBe(server.spanContext().traceId);
      expect(span.name).toMatch(/^db [a-z]+$/);
      expect(span.attributes['db.system.name']).toBe('postgresql');
      expect(ms(span.duration)).toBeCloseTo(event.queryDurationMillis, 2);
      expect(ms(span.startTime)).toBeGreaterThanOrEqual(ms(server.startTime));
      expect(ms(span.endTime)).toBeLessThanOrEqual(ms(server.endTime));
    });
    const inserts = db.filter((s) => s.name === 'db insert' && String(s.attributes['db.query.text']).includes('insert into "projects"'));
    expect(inserts).toHaveLength(1);

    // The statements carried the title, the description and the token's hash as parameters; no
    // span carries any parameter, nor the token itself.
    const values = attributeValues(spans);
    const parameters = statements.flatMap((e) => e.query.parameters).filter((p): p is string => typeof p === 'string' && p.length >= 4);
    expect(parameters).toContain(title);
    for (const secret of [title, 'traced description', token, ...parameters]) {
      expect(values.filter((v) => v.includes(secret))).toEqual([]);
    }
  });

  it("concurrent requests' statements are each under their own request's span", async () => {
    // Three callers, so that each request looks its caller's session up (the cache would skip it).
    const [a, b, c] = await Promise.all([t.newUser(), t.newUser(), t.newUser()]);
    const single = await recording(() => t.createProject(a.token, `alone ${Date.now()}`));
    const shape = (spans: ReadableSpan[], server: ReadableSpan) => childrenOf(spans, server).map((s) => s.attributes['db.query.text']);
    const expected = shape(single.spans, single.servers[0]!);
    expect(expected.length).toBeGreaterThan(1);

    const { spans, servers } = await recording(() =>
      Promise.all([t.createProject(b.token, `first ${Date.now()}`), t.createProject(c.token, `second ${Date.now()}`)]),
    );
    expect(servers).toHaveLength(2);
    for (const server of servers) expect(shape(spans, server)).toEqual(expected);
    expect(spans).toHaveLength(2 * (expected.length + 1));
  });

  it('is named by the route pattern, never the path; a request no route matched is `unmatched`', async () => {
    const { token } = await t.newUser();
    const project = await t.createProject(token, `named ${Date.now()}`);
    const { servers } = await recording(async () => {
      expect((await t.request('GET', `/api/projects/${project.id}`, { token })).status).toBe(200);
      expect((await t.request('GET', `/no/such/${project.id}`)).status).toBe(404);
      expect((await t.request('PUT', `/api/projects/${project.id}`, { token })).status).toBe(405);
    });
    expect(servers.map((s) => [s.name, s.attributes['http.route'], s.attributes['http.response.status_code']])).toEqual([
      ['GET /api/projects/:id', '/api/projects/:id', 200],
      ['GET unmatched', 'unmatched', 404],
      ['PUT unmatched', 'unmatched', 405],
    ]);
    expect(attributeValues(servers).filter((v) => v.includes(project.id))).toEqual([]);
  });

  it('continues the trace of an incoming W3C traceparent, and adds nothing to the response', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const parentId = '00f067aa0ba902b7';
    let headers: Headers | undefined;
    const { servers } = await recording(async () => {
      const res = await t.request('GET', '/health/live', { headers: { traceparent: `00-${traceId}-${parentId}-01` } });
      expect(res.status).toBe(200);
      headers = res.headers;
    });
    expect(servers).toHaveLength(1);
    expect(servers[0]!.spanContext().traceId).toBe(traceId);
    expect(servers[0]!.parentSpanContext).toMatchObject({ traceId, spanId: parentId, isRemote: true });
    expect(servers[0]!.spanContext().spanId).not.toBe(parentId);
    const names = [...headers!.keys()];
    expect(names.filter((n) => n.startsWith('trace'))).toEqual([]);
  });

  it('marks a 503 as an error', async () => {
    const { token } = await t.newUser();
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    // The pool's one connection is held, so the request cannot get one in time.
    const holding = t.db.connection().execute(() => held);
    const { servers } = await recording(async () => {
      expect((await t.request('POST', '/api/projects', { token, json: { title: 'Starved' } })).status).toBe(503);
    });
    release();
    await holding;
    expect(servers).toHaveLength(1);
    expect(servers[0]!.name).toBe('POST /api/projects');
    expect(servers[0]!.status.code).toBe(SpanStatusCode.ERROR);
    expect(servers[0]!.attributes).toMatchObject({ 'http.response.status_code': 503, 'error.type': '503' });
  });
});

/** Records the URL of every module a process resolves into `log`, from its first import on. */
function moduleRecorder(dir: string, log: string): string {
  const hooks = join(dir, 'hooks.mjs');
  writeFileSync(
    hooks,
    `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, resolved.url + '\\n');
  return resolved;
}
`,
  );
  const register = join(dir, 'register.mjs');
  writeFileSync(register, `import { register } from 'node:module';\nregister(${JSON.stringify(`file://${hooks}`)});\n`);
  return register;
}

/** An OTLP/HTTP collector that keeps the JSON bodies posted to /v1/traces. */
async function startCollector() {
  const bodies: unknown[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') bodies.push(JSON.parse(Buffer.concat(chunks).toString()));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, bodies, close: () => server.close() };
}

/** The service and name of each span in OTLP/JSON export bodies. */
function exportedSpans(bodies: unknown[]) {
  return bodies.flatMap((body: any) =>
    body.resourceSpans.flatMap((rs: any) =>
      rs.scopeSpans.flatMap((ss: any) =>
        ss.spans.map((span: any) => ({
          service: rs.resource.attributes.find((a: any) => a.key === 'service.name')?.value.stringValue,
          name: span.name,
        })),
      ),
    ),
  );
}

/**
 * Runs the built server (dist/server.mjs, what `npm start` runs) with `env`, answers one request,
 * stops it with SIGTERM; returns the @opentelemetry modules it loaded and the request's status.
 */
async function runServer(env: Record<string, string>) {
  const dir = mkdtempSync(join(tmpdir(), 'projects-api-tracing-'));
  const log = join(dir, 'modules.log');
  writeFileSync(log, '');
  try {
    const port = await freePort();
    const proc = spawn(process.execPath, ['--import', moduleRecorder(dir, log), 'dist/server.mjs'], {
      cwd: root,
      env: { ...process.env, PORT: String(port), DATABASE_URL: 'pglite://memory', LOG_LEVEL: 'info', ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => proc.on('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      proc.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('"listening"')) resolve();
      });
      void exited.then(() => reject(new Error(`the server exited before listening:\n${out}`)));
    });
    const status = (await fetch(`http://127.0.0.1:${port}/health/live`)).status;
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    return {
      status,
      modules: readFileSync(log, 'utf8')
        .split('\n')
        .filter((url) => url.includes('/@opentelemetry/')),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Each case starts a real server process with an embedded database: slow on a busy machine.
describe('the server process', { timeout: 120_000 }, () => {
  it('loads no OpenTelemetry module at all without OTEL_EXPORTER_OTLP_ENDPOINT', async () => {
    const run = await runServer({});
    expect(run.status).toBe(200);
    expect(run.modules).toEqual([]);
  });

  it('with it, exports the spans over OTLP/HTTP, the last of them when it stops', async () => {
    const collector = await startCollector();
    try {
      const run = await runServer({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_SERVICE_NAME: 'traced-api' });
      expect(run.status).toBe(200);
      // The recorder itself proves it can see what the server loads.
      expect(run.modules.some((url) => url.includes('/@opentelemetry/sdk-trace-node/'))).toBe(true);
      expect(exportedSpans(collector.bodies)).toContainEqual({ service: 'traced-api', name: 'GET /health/live' });
    } finally {
      collector.close();
    }
  });
});

/** An API Gateway HTTP API (payload 2.0) event for `GET path`. */
function httpEvent(path: string): unknown {
  const event = JSON.parse(readFileSync(join(root, 'test/fixtures/lambda-events/http-v2__powertools-ts__no-auth.json'), 'utf8'));
  event.rawPath = path;
  event.rawQueryString = '';
  event.requestContext.http.method = 'GET';
  event.requestContext.http.path = path;
  delete event.body;
  return event;
}

/**
 * A container of the built artifact with `env`, answering one `GET /health/live`; returns the
 * artifact's own modules it loaded (relative to the artifact) and what its index.mjs imports
 * statically.
 */
async function runLambda(env: Record<string, string>) {
  const artifact = inject('lambdaArtifact');
  const dir = mkdtempSync(join(tmpdir(), 'projects-api-tracing-'));
  const log = join(dir, 'modules.log');
  writeFileSync(log, '');
  try {
    const container = await LambdaContainer.start(artifact, {
      DATABASE_URL: 'pglite://memory',
      LOG_LEVEL: 'silent',
      NODE_OPTIONS: `--import ${moduleRecorder(dir, log)}`,
      ...env,
    });
    try {
      const res = await container.invoke(httpEvent('/health/live'));
      const prefix = `file://${artifact.dir}/`;
      const loaded = readFileSync(log, 'utf8')
        .split('\n')
        .filter((url) => url.startsWith(prefix) && !url.startsWith(`${prefix}node_modules/`))
        .map((url) => url.slice(prefix.length));
      const index = readFileSync(join(artifact.dir, 'index.mjs'), 'utf8');
      const statics = [...index.matchAll(/(?:^|;)import[^;()]*?from"\.\/(chunks\/[^"]+)"/gm)].map((m) => m[1]!);
      return { status: res.status, loaded: [...new Set(loaded)].sort(), statics: ['index.mjs', ...statics].sort() };
    } finally {
      await container.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('the Lambda artifact', { timeout: 120_000 }, () => {
  it('without OTEL_EXPORTER_OTLP_ENDPOINT loads only its main chunk, none of the OpenTelemetry chunks', async () => {
    const run = await runLambda({});
    expect(run.status).toBe(200);
    expect(run.loaded).toEqual(run.statics);
    // The SDK is in the artifact, in chunks of its own (one of the variables it reads marks it).
    const { dir } = inject('lambdaArtifact');
    const sdk = 'OTEL_BSP_SCHEDULE_DELAY';
    expect(readFileSync(join(dir, 'index.mjs'), 'utf8')).not.toContain(sdk);
    expect(readdirSync(join(dir, 'chunks')).filter((f) => readFileSync(join(dir, 'chunks', f), 'utf8').includes(sdk))).not.toEqual([]);
  });

  it('with it, has exported the span before the invocation returns', async () => {
    const collector = await startCollector();
    try {
      const run = await runLambda({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url });
      expect(run.status).toBe(200);
      expect(run.loaded.length).toBeGreaterThan(run.statics.length);
      expect(exportedSpans(collector.bodies)).toContainEqual({ service: 'projects-api', name: 'GET /health/live' });
    } finally {
      collector.close();
    }
  });
});
