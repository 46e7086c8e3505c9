import type { Hono } from 'hono';

interface RoutePattern {
  method: string;
  pattern: RegExp;
  params: number;
}

function compile(path: string): RegExp {
  const escaped = path
    .split('/')
    .map((segment) => (segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${escaped}$`);
}

/**
 * The methods registered for `path`, for a 405's `Allow` header; empty when no route has the path.
 * Like the router, a static segment beats a parameter: `/api/users/availability` is not an `{id}`.
 * Built from the app's route table on first use, after every route is registered.
 */
export function allowedMethods(app: Hono<never>): (path: string) => string[] {
  let routes: RoutePattern[] | undefined;
  return (path) => {
    routes ??= app.routes
      .filter((r) => r.method !== 'ALL' && !r.path.includes('*'))
      .map((r) => ({ method: r.method, pattern: compile(r.path), params: r.path.split('/:').length - 1 }));
    const matching = routes.filter((r) => r.pattern.test(path));
    const fewest = Math.min(...matching.map((r) => r.params));
    const methods = new Set(matching.filter((r) => r.params === fewest).map((r) => r.method));
    if (methods.has('GET')) methods.add('HEAD');
    return [...methods].sort();
  };
}
