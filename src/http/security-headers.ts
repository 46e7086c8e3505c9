import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './app-deps.ts';

// An API answers JSON to programs: nothing it sends should be sniffed, framed, cached by shared
// caches, or leak the URL onward. The docs page needs its own scripts and styles.
const API_POLICY = "default-src 'none'; frame-ancestors 'none'";
const DOCS_POLICY = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";
// The web page: its own script and stylesheet only, no inline code; `data:` images for the empty
// favicon that spares a request.
const PAGE_POLICY = "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

function policyFor(path: string): string {
  if (path.startsWith('/docs')) return DOCS_POLICY;
  if (path === '/' || path.startsWith('/assets/')) return PAGE_POLICY;
  return API_POLICY;
}

/** Secure response headers for every response (OWASP secure headers, as relevant to an API); HSTS over https. */
export function securityHeaders(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    const headers = c.res.headers;
    headers.set('X-Content-Type-Options', 'nosniff');
    headers.set('X-Frame-Options', 'DENY');
    headers.set('Referrer-Policy', 'no-referrer');
    headers.set('Cross-Origin-Resource-Policy', 'same-origin');
    headers.set('Content-Security-Policy', policyFor(c.req.path));
    if (c.req.path.startsWith('/api/')) headers.set('Cache-Control', 'no-store');
    if (c.get('scheme') === 'https') headers.set('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
    headers.delete('X-Powered-By');
  };
}
