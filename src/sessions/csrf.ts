import type { Context } from 'hono';
import { AppError } from '../errors/app-error.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).host;
  } catch {
    return undefined;
  }
}

/**
 * Refuses a cookie-authenticated unsafe request whose `Origin` (or, without one, `Referer`) names
 * another host than the request's own: a browser sent it on behalf of a foreign page. SameSite=Lax
 * already keeps the cookie off most cross-site requests; this covers same-site subdomains and older
 * browsers. Requests without either header come from non-browser clients and pass; `Origin: null`
 * (sandboxed or opaque pages) does not.
 */
export function checkSameOrigin(c: Context, ownHost: string | undefined): void {
  if (SAFE_METHODS.has(c.req.method)) return;
  const origin = c.req.header('origin');
  const referer = c.req.header('referer');
  const claimed = origin ?? referer;
  if (claimed === undefined) return;
  if (ownHost === undefined || hostOf(claimed) !== ownHost) throw new AppError('FORBIDDEN', { text: 'forbidden.crossOrigin' });
}
