import type { Kysely } from 'kysely';
import type { Config } from '../config.ts';
import type { DB, User } from '../db/schema.ts';
import { AppError } from '../errors/app-error.ts';
import type { CallerCache } from './caller-cache.ts';
import { deleteDeadSessions, deleteOtherSessions, deleteSession, findSessionUser, insertSession } from './sessions.repository.ts';
import { isWellFormedToken, newToken, tokenHash } from './tokens.ts';

/** A session just opened: its token (shown once) and its absolute end. */
export interface OpenedSession {
  token: string;
  expiresAt: Date;
}

/** Opens a session for a user whose credentials were checked; the user's dead sessions go first. */
export async function openSession(db: Kysely<DB>, config: Config, userId: string): Promise<OpenedSession> {
  await deleteDeadSessions(db, userId, config.sessionIdleMinutes);
  const token = newToken();
  const expiresAt = await insertSession(db, { tokenHash: tokenHash(token), userId, maxHours: config.sessionMaxHours });
  return { token, expiresAt };
}

/** The user behind a presented token, with the token's hash, or 401 UNAUTHENTICATED. */
export async function authenticate(
  db: Kysely<DB>,
  config: Config,
  cache: CallerCache,
  token: string | undefined,
): Promise<{ user: User; sessionHash: string }> {
  if (token === undefined || !isWellFormedToken(token)) throw new AppError('UNAUTHENTICATED');
  const sessionHash = tokenHash(token);
  const cached = cache.get(sessionHash);
  if (cached) return { user: cached, sessionHash };
  const readAt = Date.now();
  const user = await findSessionUser(db, sessionHash, config.sessionIdleMinutes);
  if (!user) throw new AppError('UNAUTHENTICATED');
  cache.set(sessionHash, user, readAt);
  return { user, sessionHash };
}

/**
 * Revokes the session; the token stops working at once here, and within the cache TTL elsewhere.
 * A caller vouched for by an API Gateway authorizer has no session here, so there is nothing to do.
 */
export async function revokeSession(db: Kysely<DB>, cache: CallerCache, sessionHash: string | undefined): Promise<void> {
  if (sessionHash === undefined) return;
  cache.forget(sessionHash);
  await deleteSession(db, sessionHash);
}

/**
 * Ends every session of the user except `keepSessionHash` (all of them when undefined), and
 * forgets the user's cached callers. `db` may be a transaction, so that the sessions end with the
 * change that ends them (a new password).
 */
export async function endOtherSessions(
  db: Kysely<DB>,
  cache: CallerCache,
  userId: string,
  keepSessionHash: string | undefined,
): Promise<void> {
  await deleteOtherSessions(db, userId, keepSessionHash);
  cache.forgetUser(userId);
}
