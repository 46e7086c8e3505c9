import type { Context, MiddlewareHandler } from 'hono';
import type { Logger } from 'pino';
import type { Locale } from '../errors/messages.ts';
import type { AppEnv } from './app-deps.ts';
import { negotiateLocale } from './locale.ts';

// A client's id is echoed only when it is short and plain, so it cannot forge log structure.
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * First middleware of the app: the request id (the client's `X-Request-Id` if sane, else a new
 * UUID) on the response and in context, the negotiated locale, the logger, and one JSON
 * access-log line per request carrying the id. No child logger is made for a request that logs
 * nothing else (see requestLogger).
 */
export function requestContext(
  logger: Logger,
  defaultLocale: Locale,
  scheme: (c: Context) => AppEnv['Variables']['scheme'],
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
    logger.info(
      { requestId, method: c.req.method, path: c.req.path, status: c.res.status, ms: Math.round((performance.now() - started) * 10) / 10 },
      'request',
    );
  };
}

/** A logger whose every line carries the request's id, for what a request logs besides its access line. */
export function requestLogger(c: Context<AppEnv>): Logger {
  return c.get('logger').child({ requestId: c.get('requestId') });
}
