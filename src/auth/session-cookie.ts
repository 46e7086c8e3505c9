import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Config } from '../config.ts';
import type { AuthEnv } from './caller.ts';

/** Base name of the session cookie; `__Host-sid` when it is Secure. */
export const SESSION_COOKIE = 'sid';

function secure<E extends AuthEnv>(c: Context<E>, config: Config): boolean {
  if (config.cookieSecure === 'auto') return c.get('scheme') === 'https';
  return config.cookieSecure === 'true';
}

/**
 * Sets the session cookie: HttpOnly, SameSite=Lax, Path=/, Secure per COOKIE_SECURE. A Secure
 * cookie is named with the `__Host-` prefix, which browsers only accept from a secure origin,
 * for the exact host (no Domain), on Path=/: a sibling subdomain cannot plant or overwrite it.
 */
export function setSessionCookie<E extends AuthEnv>(c: Context<E>, config: Config, token: string): void {
  const maxAge = config.sessionMaxHours * 3600;
  if (secure(c, config)) {
    setCookie(c, SESSION_COOKIE, token, { prefix: 'host', path: '/', httpOnly: true, secure: true, sameSite: 'Lax', maxAge });
  } else {
    setCookie(c, SESSION_COOKIE, token, { path: '/', httpOnly: true, sameSite: 'Lax', maxAge });
  }
}

/** Tells the browser to drop the session cookie. */
export function clearSessionCookie<E extends AuthEnv>(c: Context<E>, config: Config): void {
  if (secure(c, config)) deleteCookie(c, SESSION_COOKIE, { prefix: 'host', path: '/', httpOnly: true, secure: true, sameSite: 'Lax' });
  else deleteCookie(c, SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'Lax' });
}

/** A presented session token and where it came from. */
export interface PresentedToken {
  token: string | undefined;
  via: 'bearer' | 'cookie';
}

/** The session token from `Authorization: Bearer …`, else from the cookie (`__Host-sid`, then `sid`). */
export function presentedToken(c: Context): PresentedToken {
  const authorization = c.req.header('authorization');
  if (authorization !== undefined) return { token: /^Bearer +(\S+)\s*$/i.exec(authorization)?.[1] ?? '', via: 'bearer' };
  return { token: getCookie(c, SESSION_COOKIE, 'host') ?? getCookie(c, SESSION_COOKIE), via: 'cookie' };
}
