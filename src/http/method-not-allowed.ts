import type { Hono } from 'hono';

interface RoutePattern {
  method: string;
  pattern: RegExp;
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
 * Built from the app's route table on first use, after every route is registered.
 */
export function allowedMethods(app: Hono<never>): (path: string) => string[] {
  let routes: RoutePattern[] | undefined;
  return (path) => {
    routes ??= app.routes
      .filter((r) => r.method !== 'ALL' && !r.path.includes('*'))
      .map((r) => ({ method: r.method, pattern: compile(r.path) }));
    const methods = new Set(routes.filter((r) => r.pattern.test(path)).map((r) => r.method));
    if (methods.has('GET')) methods.add('HEAD');
    return [...methods].sort();
  };
}
