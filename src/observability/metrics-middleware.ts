import type { Context, MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { AppError } from '../errors/app-error.ts';
import type { Metrics } from './metrics.ts';

/** What the middleware reads of the app's context: the error the response rendered, if any. */
export interface MetricsEnv {
  Variables: { failure?: AppError };
}

/**
 * The pattern of the route that answered. Hono's matched routes for a request are the app-wide
 * middleware (method ALL) and every route whose pattern matches, in order; the route index is that
 * of the last handler that ran. A request answered before its route (a global middleware refused
 * it) is labelled by the route it was headed for; one no route matches, `unmatched`.
 */
function routeOf(c: Context): string {
  const routes = matchedRoutes(c);
  for (let i = Math.max(c.req.routeIndex, 0); i < routes.length; i++) {
    const route = routes[i];
    if (route !== undefined && route.method !== 'ALL') return route.path;
  }
  return 'unmatched';
}

/** Times every request and hands what it was to `metrics`; first in the chain, so it sees every answer. */
export function requestMetrics(metrics: Metrics): MiddlewareHandler<MetricsEnv> {
  return async (c, next) => {
    const started = performance.now();
    await next();
    metrics.observeRequest({
      method: c.req.method,
      route: routeOf(c),
      status: c.res.status,
      seconds: (performance.now() - started) / 1000,
      failure: c.get('failure'),
      replayed: c.res.headers.get('idempotent-replayed') === 'true',
    });
  };
}
