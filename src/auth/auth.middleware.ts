import type { MiddlewareHandler } from 'hono';
import type { User } from '../db/schema.ts';
import { authenticate } from './auth.service.ts';
import type { AuthDeps, AuthEnv } from './caller.ts';
import { checkSameOrigin } from './csrf.ts';
import { presentedToken } from './session-cookie.ts';

/**
 * The user trusted gateway claims name (the users feature creates them on first sight); undefined
 * when the claims name nobody. Answers from the caller cache like a session token.
 */
async function vouchedUser({ db, callers, gatewayCaller }: AuthDeps, claims: Record<string, unknown>): Promise<User | undefined> {
  const identity = gatewayCaller(claims);
  if (identity === undefined) return undefined;
  const cached = callers.get(identity.key);
  if (cached) return cached;
  const readAt = Date.now();
  const user = await identity.user(db);
  callers.set(identity.key, user, readAt);
  return user;
}

/**
 * Requires a caller and puts them in context; else 401. With trusted API Gateway claims, the
 * claims name the caller (an `Authorization` header then carries the gateway's own token, not
 * ours). Otherwise a live session (Bearer token or cookie) does; a cookie-authenticated unsafe
 * request from a foreign origin is a 403 (Bearer requests are exempt: a browser never attaches
 * them on its own).
 */
export function requireAuth(deps: AuthDeps): MiddlewareHandler<AuthEnv> {
  const { db, config, callers, requestOrigin, trustedIdentityClaims } = deps;
  return async (c, next) => {
    const claims = trustedIdentityClaims(c);
    const vouched = claims && (await vouchedUser(deps, claims));
    if (vouched) {
      c.set('caller', { user: vouched, sessionHash: undefined });
    } else {
      const { token, via } = presentedToken(c);
      c.set('caller', await authenticate(db, config, callers, token));
      if (via === 'cookie') checkSameOrigin(c, requestOrigin(c));
    }
    await next();
  };
}
