import type { Context, MiddlewareHandler } from 'hono';
import { AppError } from '../errors/app-error.ts';
import type { SpecificTextKey } from '../errors/messages.ts';
import type { AuthDeps } from './caller.ts';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** `Sec-Fetch-Site` values a browser sends for requests its user or the API's own pages made. */
const OWN_FETCH_SITES = new Set(['same-origin', 'none']);

/** The origin of a URL (lower-case scheme and host, default port elided), or undefined. */
function originOf(url: string): string | undefined {
  try {
    const origin = new URL(url).origin;
    return origin === 'null' ? undefined : origin;
  } catch {
    return undefined;
  }
}

/**
 * Refuses an unsafe request a browser sent on behalf of a foreign page: one whose `Sec-Fetch-Site`
 * is `cross-site` or `same-site` or, from a browser that does not send it, whose `Origin` (or,
 * without one, `Referer`) is not the request's own origin (scheme, host and port compared as
 * origins). SameSite=Lax already keeps the cookie off most cross-site requests; this covers
 * same-site subdomains, older browsers, and login (a forged login signs the victim into the
 * attacker's account). Requests with none of these headers come from non-browser clients and
 * pass; `Origin: null` (sandboxed or opaque pages) does not.
 */
export function checkSameOrigin(c: Context, ownOrigin: string | undefined, text: SpecificTextKey = 'forbidden.crossOrigin'): void {
  if (SAFE_METHODS.has(c.req.method)) return;
  const site = c.req.header('sec-fetch-site')?.trim().toLowerCase();
  if (site !== undefined) {
    if (OWN_FETCH_SITES.has(site)) return;
    throw new AppError('FORBIDDEN', { text });
  }
  const claimed = c.req.header('origin') ?? c.req.header('referer');
  if (claimed === undefined) return;
  if (ownOrigin === undefined || originOf(claimed) !== ownOrigin) throw new AppError('FORBIDDEN', { text });
}

/** Login CSRF: a login posted from a foreign page would sign the victim into the attacker's account. */
export function sameOriginLogin(requestOrigin: AuthDeps['requestOrigin']): MiddlewareHandler {
  return async (c, next) => {
    checkSameOrigin(c, requestOrigin(c), 'forbidden.crossOriginLogin');
    await next();
  };
}
