import type { MiddlewareHandler } from 'hono';
import type { AppError } from '../errors/app-error.ts';
import type { Metrics } from './metrics.ts';
import { routePattern } from './route-pattern.ts';

/** What the middleware reads of the app's context: the error the response rendered, if any. */
export interface MetricsEnv {
  Variables: { failure?: AppError };
}

/** Times every request and hands what it was to `metrics`; first in the chain, so it sees every answer. */
export function requestMetrics(metrics: Metrics): MiddlewareHandler<MetricsEnv> {
  return async (c, next) => {
    const started = performance.now();
    await next();
    metrics.observeRequest({
      method: c.req.method,
      route: routePattern(c),
      status: c.res.status,
      seconds: (performance.now() - started) / 1000,
      failure: c.get('failure'),
      replayed: c.res.headers.get('idempotent-replayed') === 'true',
    });
  };
}
