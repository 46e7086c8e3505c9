import type { MiddlewareHandler } from 'hono';
import type { AppDeps, AppEnv } from '../http/env.ts';
import { checkSameOrigin } from './csrf.ts';
import { presentedToken } from './session-cookie.ts';
import { authenticate } from './sessions.service.ts';

/**
 * Requires a live session (Bearer token or cookie) and puts the caller in context; else 401.
 * A cookie-authenticated unsafe request from a foreign origin is a 403 (Bearer requests are exempt:
 * a browser never attaches them on its own).
 */
export function requireAuth({ db, config, sessions, requestHost }: AppDeps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const { token, via } = presentedToken(c);
    c.set('caller', await authenticate(db, config, sessions, token));
    if (via === 'cookie') checkSameOrigin(c, requestHost(c));
    await next();
  };
}
