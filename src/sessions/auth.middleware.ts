import type { MiddlewareHandler } from 'hono';
import type { AppDeps, AppEnv } from '../http/env.ts';
import { presentedToken } from './session-cookie.ts';
import { authenticate } from './sessions.service.ts';

/** Requires a live session (Bearer token or cookie) and puts the caller in context; else 401. */
export function requireAuth({ db, config }: AppDeps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    c.set('caller', await authenticate(db, config, presentedToken(c)));
    await next();
  };
}
