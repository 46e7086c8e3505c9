import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Config } from '../config.ts';

/** Name of the session cookie. */
export const SESSION_COOKIE = 'sid';

function secure(c: Context, config: Config): boolean {
  if (config.cookieSecure === 'auto') return new URL(c.req.url).protocol === 'https:';
  return config.cookieSecure === 'true';
}

/** Sets the session cookie: HttpOnly, SameSite=Lax, Path=/, Secure per COOKIE_SECURE. */
export function setSessionCookie(c: Context, config: Config, token: string): void {
  setCookie(c, SESSION_COOKIE, token, {
    path: '/',
    httpOnly: true,
    sameSite: 'Lax',
    secure: secure(c, config),
    maxAge: config.sessionMaxHours * 3600,
  });
}

/** Tells the browser to drop the session cookie. */
export function clearSessionCookie(c: Context, config: Config): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'Lax', secure: secure(c, config) });
}

/** The session token from `Authorization: Bearer …`, else from the cookie. */
export function presentedToken(c: Context): string | undefined {
  const authorization = c.req.header('authorization');
  if (authorization !== undefined) return /^Bearer +(\S+)\s*$/i.exec(authorization)?.[1] ?? '';
  return getCookie(c, SESSION_COOKIE);
}
