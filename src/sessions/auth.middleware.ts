import type { MiddlewareHandler } from 'hono';
import type { User } from '../db/schema.ts';
import type { AppDeps, AppEnv } from '../http/app-deps.ts';
import { identityFromClaims } from '../users/gateway-identity.ts';
import { gatewayUser } from '../users/users.service.ts';
import { checkSameOrigin } from './csrf.ts';
import { presentedToken } from './session-cookie.ts';
import { authenticate } from './sessions.service.ts';

/**
 * The user trusted gateway claims name (the users feature creates them on first sight); undefined
 * when the claims name nobody. Answers from the caller cache like a session token.
 */
async function vouchedUser({ db, callers }: AppDeps, claims: Record<string, unknown>): Promise<User | undefined> {
  const identity = identityFromClaims(claims);
  if (identity === undefined) return undefined;
  // Session keys are hex digests, so this key cannot collide with one.
  const key = JSON.stringify([identity.issuer, identity.subject]);
  const cached = callers.get(key);
  if (cached) return cached;
  const readAt = Date.now();
  const user = await gatewayUser(db, identity, claims);
  callers.set(key, user, readAt);
  return user;
}

/**
 * Requires a caller and puts them in context; else 401. With trusted API Gateway claims, the
 * claims name the caller (an `Authorization` header then carries the gateway's own token, not
 * ours). Otherwise a live session (Bearer token or cookie) does; a cookie-authenticated unsafe
 * request from a foreign origin is a 403 (Bearer requests are exempt: a browser never attaches
 * them on its own).
 */
export function requireAuth(deps: AppDeps): MiddlewareHandler<AppEnv> {
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
