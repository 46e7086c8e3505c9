import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './app-deps.ts';

// An API answers JSON to programs: nothing it sends should be sniffed, framed, cached by shared
// caches, or leak the URL onward. The docs page needs its own scripts and styles.
const API_POLICY = "default-src 'none'; frame-ancestors 'none'";
const DOCS_POLICY = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";
// The web page: its own script and stylesheet only, no inline code; `data:` images for the empty
// favicon that spares a request.
const PAGE_POLICY = "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

const COMMON: [string, string][] = [
  ['X-Content-Type-Options', 'nosniff'],
  ['X-Frame-Options', 'DENY'],
  ['Referrer-Policy', 'no-referrer'],
  ['Cross-Origin-Resource-Policy', 'same-origin'],
];
const FOR_API: [string, string][] = [...COMMON, ['Content-Security-Policy', API_POLICY], ['Cache-Control', 'no-store']];
const FOR_DOCS: [string, string][] = [...COMMON, ['Content-Security-Policy', DOCS_POLICY]];
const FOR_PAGE: [string, string][] = [...COMMON, ['Content-Security-Policy', PAGE_POLICY]];
const FOR_OTHERS: [string, string][] = [...COMMON, ['Content-Security-Policy', API_POLICY]];
const HSTS: [string, string] = ['Strict-Transport-Security', 'max-age=31536000; includeSubDomains'];

function headersFor(path: string): [string, string][] {
  if (path.startsWith('/api/')) return FOR_API;
  if (path.startsWith('/docs')) return FOR_DOCS;
  if (path === '/' || path.startsWith('/assets/')) return FOR_PAGE;
  return FOR_OTHERS;
}

/**
 * Secure response headers for every response (OWASP secure headers, as relevant to an API); HSTS
 * when the connection is https. They go into the headers the context builds every response from,
 * once, before the handler runs; only a response the handler built itself is given them afterwards.
 */
export function securityHeaders(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const wanted = headersFor(c.req.path);
    const https = c.get('scheme') === 'https';
    for (const [name, value] of wanted) c.header(name, value);
    if (https) c.header(...HSTS);
    await next();
    const headers = c.res.headers;
    if (!headers.has('X-Content-Type-Options')) {
      for (const [name, value] of wanted) headers.set(name, value);
      if (https) headers.set(...HSTS);
    }
    headers.delete('X-Powered-By');
  };
}
