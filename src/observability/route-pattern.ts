import type { Context } from 'hono';
import { matchedRoutes } from 'hono/route';

/** What a request no route answered (404, 405, OPTIONS) is labelled with. */
export const UNMATCHED_ROUTE = 'unmatched';

/**
 * The pattern of the route that answered the request (`/api/projects/:id`), never its path: a
 * bounded label, the same for every id. Read after `next()`: the router's index then rests on the
 * handler that answered or on the middleware that threw; routes registered with `use` (method
 * `ALL`) are middleware for every path, so the answer is the first method route from there on,
 * the one whose own middleware (auth, validation) or handler ran or was about to.
 */
export function routePattern(c: Context): string {
  const routes = matchedRoutes(c);
  for (let i = Math.max(c.req.routeIndex, 0); i < routes.length; i += 1) {
    const route = routes[i];
    if (route !== undefined && route.method !== 'ALL') return route.path;
  }
  return UNMATCHED_ROUTE;
}
