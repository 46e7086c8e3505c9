import type { MiddlewareHandler } from 'hono';

// An API answers JSON to programs: nothing it sends should be sniffed, framed, cached by shared
// caches, or leak the URL onward. The docs page needs its own scripts and styles.
const API_POLICY = "default-src 'none'; frame-ancestors 'none'";
const DOCS_POLICY = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'";

const COMMON: [string, string][] = [
  ['X-Content-Type-Options', 'nosniff'],
  ['X-Frame-Options', 'DENY'],
  ['Referrer-Policy', 'no-referrer'],
  ['Cross-Origin-Resource-Policy', 'same-origin'],
];
const FOR_API: [string, string][] = [...COMMON, ['Content-Security-Policy', API_POLICY], ['Cache-Control', 'no-store']];
const FOR_DOCS: [string, string][] = [...COMMON, ['Content-Security-Policy', DOCS_POLICY]];
const FOR_OTHERS: [string, string][] = [...COMMON, ['Content-Security-Policy', API_POLICY]];
const HSTS: [string, string] = ['Strict-Transport-Security', 'max-age=31536000; includeSubDomains'];

/**
 * Secure response headers for every response (OWASP secure headers, as relevant to an API). They
 * go into the headers the context builds every response from, once, before the handler runs; only
 * a response the handler built itself is given them afterwards.
 */
export function securityHeaders(): MiddlewareHandler {
  return async (c, next) => {
    const { path } = c.req;
    const wanted = path.startsWith('/api/') ? FOR_API : path.startsWith('/docs') ? FOR_DOCS : FOR_OTHERS;
    const https = c.req.url.startsWith('https:');
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
