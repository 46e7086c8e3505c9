import type { MiddlewareHandler } from 'hono';
import type { AppDeps, AppEnv } from '../http/app-deps.ts';
import { checkSameOrigin } from './csrf.ts';
import { gatewayUser } from '../users/gateway-identity.ts';
import { presentedToken } from './session-cookie.ts';
import { authenticate } from './sessions.service.ts';

/**
 * Requires a caller and puts them in context; else 401. With trusted API Gateway claims, the
 * claims name the caller (an `Authorization` header then carries the gateway's own token, not
 * ours). Otherwise a live session (Bearer token or cookie) does; a cookie-authenticated unsafe
 * request from a foreign origin is a 403 (Bearer requests are exempt: a browser never attaches
 * them on its own).
 */
export function requireAuth({ db, config, sessions, requestHost, gatewayClaims }: AppDeps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const claims = gatewayClaims(c);
    const vouched = claims && (await gatewayUser(db, sessions, claims));
    if (vouched) {
      c.set('caller', { user: vouched, sessionHash: undefined });
    } else {
      const { token, via } = presentedToken(c);
      c.set('caller', await authenticate(db, config, sessions, token));
      if (via === 'cookie') checkSameOrigin(c, requestHost(c));
    }
    await next();
  };
}
