import type { Context, MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import type { Caller } from '../auth/caller.ts';
import type { Locale } from '../errors/messages.ts';
import type { AppEnv } from './app-deps.ts';
import { negotiateLocale } from './locale.ts';
import { routePattern } from '../observability/route-pattern.ts';

// A client's id is echoed only when it is short and plain, so it cannot forge log structure.
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Client-chosen text (a path, a user agent) is cut here, so one request cannot write a huge line. */
export const ACCESS_LOG_TEXT_LIMIT = 256;

/** At most this many query parameter names are logged. */
const QUERY_NAMES_LIMIT = 20;

function bounded(text: string): string {
  return text.length > ACCESS_LOG_TEXT_LIMIT ? `${text.slice(0, ACCESS_LOG_TEXT_LIMIT)}…` : text;
}

/**
 * The names of the query's parameters, never their values: a value may be a token, an email or a
 * password a client put in the URL.
 */
function queryNames(url: string): string[] | undefined {
  const start = url.indexOf('?');
  if (start === -1) return undefined;
  const names = [...new Set(new URLSearchParams(url.slice(start + 1)).keys())].slice(0, QUERY_NAMES_LIMIT).map(bounded);
  return names.length > 0 ? names : undefined;
}

function declaredBytes(res: Response): number | undefined {
  const length = res.headers.get('content-length');
  return length !== null && /^\d+$/.test(length) ? Number(length) : undefined;
}

/**
 * Makes the response's length known before it is sent, for the access line: Hono leaves
 * `Content-Length` to the adapter, which computes it only while writing. JSON answers declare it
 * as they are rendered (respondJson), and are left alone: the header is looked at first, since
 * asking for the body of the Node adapter's lightweight response builds a full one. Every other
 * body this app answers with is already whole in memory (the built page, the docs assets, a
 * replayed outcome), so for those this is one copy, never a stream held back.
 */
async function declareLength(c: Context<AppEnv>): Promise<void> {
  const { res } = c;
  if (res.headers.has('content-length') || res.body === null) return;
  const body = new Uint8Array(await res.arrayBuffer());
  const headers = new Headers(res.headers);
  headers.set('Content-Length', String(body.byteLength));
  // Cleared first: assigning over a response makes Hono re-wrap the new one's body as a stream.
  c.res = undefined;
  c.res = new Response(body, { status: res.status, headers });
}

/**
 * The access line of one request: what an operator asks of it (who, what route, how it ended,
 * how long it took), and nothing that authenticates anyone: no header but the user agent, no body,
 * no query values.
 */
function accessLine(c: Context<AppEnv>, requestId: string, clientIp: string | undefined, ms: number): Record<string, unknown> {
  const caller = c.get('caller') as Caller | undefined;
  const userAgent = c.req.header('user-agent');
  return {
    requestId,
    method: c.req.method,
    route: routePattern(c),
    path: bounded(c.req.path),
    query: queryNames(c.req.url),
    status: c.res.status,
    ms,
    bytes: declaredBytes(c.res),
    clientIp,
    userId: caller?.user.id,
    userAgent: userAgent === undefined ? undefined : bounded(userAgent),
  };
}

/**
 * First middleware of the app: the request id (the client's `X-Request-Id` if sane, else a new
 * UUID) on the response and in context, the negotiated locale, the logger, and one JSON
 * access-log line per request (see accessLine). No child logger is made for a request that logs
 * nothing else (see requestLogger).
 */
export function requestContext(
  logger: Logger,
  defaultLocale: Locale,
  scheme: (c: Context) => AppEnv['Variables']['scheme'],
  clientIp: (c: Context) => string | undefined,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    const offered = c.req.header('x-request-id');
    const requestId = offered !== undefined && SANE_REQUEST_ID.test(offered) ? offered : crypto.randomUUID();
    c.set('requestId', requestId);
    c.set('locale', negotiateLocale(c.req.header('accept-language'), defaultLocale));
    c.set('logger', logger);
    c.set('scheme', scheme(c));
    c.header('X-Request-Id', requestId);
    await next();
    await declareLength(c);
    const ms = Math.round((performance.now() - started) * 10) / 10;
    logger.info(accessLine(c, requestId, clientIp(c), ms), 'request');
  };
}

/** A logger whose every line carries the request's id, for what a request logs besides its access line. */
export function requestLogger(c: Context<AppEnv>): Logger {
  return c.get('logger').child({ requestId: c.get('requestId') });
}
