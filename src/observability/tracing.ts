import { AsyncLocalStorage } from 'node:async_hooks';
import type { Context as OtelContext, TextMapGetter, Tracer } from '@opentelemetry/api';
import type { MiddlewareHandler } from 'hono';
import type { LogEvent } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { routePattern } from './route-pattern.ts';

// Every OpenTelemetry module is imported dynamically, and only once tracing is configured: a
// static import would be hoisted to the top of the bundle and loaded with tracing off too. The SDK
// packages are CommonJS, which loaders present differently (see commonJs).

/**
 * A CommonJS package's exports from its import(): Node gives them named and as `default`, the
 * Lambda bundle's split chunks only as `default`, tsx only named.
 */
function commonJs<T extends object>(module: T & { default?: T }): T {
  return module.default ?? module;
}

/** What the app and its database need to trace requests: built only when tracing is on. */
export interface RequestTracing {
  /** The app's first middleware: one server span per request, the incoming `traceparent` its parent. */
  middleware: MiddlewareHandler;
  /** createDb's `log`: a child span of the request's for each statement, with its SQL and no parameters. */
  queryLog: (event: LogEvent) => void;
}

/** Tracing as an entry point runs it: what to hand the app and the database, and how to stop. */
export interface Tracing {
  requests: RequestTracing;
  /**
   * Exports what is buffered; a Lambda invocation calls it before its container may be frozen.
   * Never rejects: a collector that is down costs spans (and a warning), never a request.
   */
  flush(): Promise<void>;
  /** Exports what is buffered and stops the exporter; never rejects either. */
  shutdown(): Promise<void>;
}

/** The instrumentation scope of every span this service makes. */
const SCOPE = 'projects-api';

/** The methods semantic conventions name; any other is `_OTHER`, so a client cannot mint span names. */
const KNOWN_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE', 'PATCH']);

const headerGetter: TextMapGetter<Headers> = {
  get: (headers, key) => headers.get(key) ?? undefined,
  keys: (headers) => {
    // forEach, not keys(): the page's DOM typings (tsconfig of web/, which reaches src/) lack the iterator.
    const names: string[] = [];
    headers.forEach((_, name) => names.push(name));
    return names;
  },
};

/**
 * What a statement does, for the span name: its first keyword, or for one with a common table
 * expression the first write in it (`with inserted as (insert …) select …` inserts). Bounded:
 * the statements are the service's own.
 */
function operation(sql: string): string {
  const first = /^\s*([A-Za-z]+)/.exec(sql)?.[1]?.toLowerCase() ?? 'query';
  if (first !== 'with') return first;
  return /\b(insert|update|delete)\b/i.exec(sql)?.[1]?.toLowerCase() ?? 'select';
}

/** A driver error's SQLSTATE when it has one; never its message, which can quote a value. */
function errorType(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string') return code;
  return error instanceof Error ? error.name : 'error';
}

/**
 * Traces requests and their statements with `tracer`. The request's context is kept in an
 * AsyncLocalStorage of this instance (not OpenTelemetry's global context manager), so the app
 * registers nothing global; a statement Kysely logs outside any request (migrations, the hourly
 * maintenance) has no request to belong to and is not traced.
 */
export async function requestTracing(tracer: Tracer): Promise<RequestTracing> {
  const [{ ROOT_CONTEXT, SpanKind, SpanStatusCode, trace }, core] = await Promise.all([
    import('@opentelemetry/api'),
    import('@opentelemetry/core'),
  ]);
  const { W3CTraceContextPropagator } = commonJs(core);
  const propagator = new W3CTraceContextPropagator();
  const active = new AsyncLocalStorage<OtelContext>();

  const middleware: MiddlewareHandler = async (c, next) => {
    const parent = propagator.extract(ROOT_CONTEXT, c.req.raw.headers, headerGetter);
    const method = KNOWN_METHODS.has(c.req.method) ? c.req.method : '_OTHER';
    const name = method === '_OTHER' ? 'HTTP' : method;
    const span = tracer.startSpan(name, { kind: SpanKind.SERVER, attributes: { 'http.request.method': method } }, parent);
    // Hono answers a thrown error with onError inside next(), so c.res is the response sent.
    await active.run(trace.setSpan(parent, span), next);
    // Named once the request is answered: only then does Hono know which matching route answered.
    const route = routePattern(c);
    span.updateName(`${name} ${route}`);
    span.setAttribute('http.route', route);
    const status = c.res.status;
    span.setAttribute('http.response.status_code', status);
    const requestId: unknown = c.get('requestId');
    if (typeof requestId === 'string') span.setAttribute('request.id', requestId);
    if (status >= 500) {
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.setAttribute('error.type', String(status));
    }
    span.end();
  };

  const queryLog = (event: LogEvent) => {
    const context = active.getStore();
    if (context === undefined) return;
    // Kysely logs once the statement has finished, in the caller's async context: the request's.
    const end = performance.now();
    const sql = event.query.sql;
    const span = tracer.startSpan(
      `db ${operation(sql)}`,
      {
        kind: SpanKind.CLIENT,
        startTime: end - event.queryDurationMillis,
        attributes: { 'db.system.name': 'postgresql', 'db.query.text': sql },
      },
      context,
    );
    if (event.level === 'error') {
      span.setStatus({ code: SpanStatusCode.ERROR });
      span.setAttribute('error.type', errorType(event.error));
    }
    span.end(end);
  };

  return { middleware, queryLog };
}

/** OTLP/HTTP's traces path under the base endpoint, as the OTEL_EXPORTER_OTLP_ENDPOINT variable means it. */
function tracesUrl(endpoint: string): string {
  return `${endpoint.replace(/\/+$/, '')}/v1/traces`;
}

/**
 * Tracing as configured: undefined without OTEL_EXPORTER_OTLP_ENDPOINT (and nothing of
 * OpenTelemetry loaded); otherwise spans batched to that collector over OTLP/HTTP. The provider
 * is this instance's, never registered as the global one.
 */
export async function startTracing(config: Config, logger: Logger): Promise<Tracing | undefined> {
  if (config.otlpEndpoint === undefined) return undefined;
  const [sdk, exporter, resources] = await Promise.all([
    import('@opentelemetry/sdk-trace-node'),
    import('@opentelemetry/exporter-trace-otlp-http'),
    import('@opentelemetry/resources'),
  ]);
  const { NodeTracerProvider, BatchSpanProcessor } = commonJs(sdk);
  const { OTLPTraceExporter } = commonJs(exporter);
  const { resourceFromAttributes } = commonJs(resources);
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': config.otelServiceName }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: tracesUrl(config.otlpEndpoint) }))],
  });
  const warn = (err: unknown) => {
    logger.warn({ err }, 'exporting spans failed; they are dropped');
  };
  return {
    requests: await requestTracing(provider.getTracer(SCOPE)),
    flush: () => provider.forceFlush().catch(warn),
    shutdown: () => provider.shutdown().catch(warn),
  };
}
