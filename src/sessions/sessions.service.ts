import type { Kysely } from 'kysely';
import type { Config } from '../config.ts';
import type { DB, User } from '../db/schema.ts';
import { AppError } from '../errors/app-error.ts';
import { canonicalEmail, canonicalUsername } from '../canonical.ts';
import { rateLimited } from '../rate-limits/rate-limit.ts';
import { hit, unhit } from '../rate-limits/rate-limits.repository.ts';
import { verifyPassword } from '../users/password.ts';
import { findUserByLogin } from '../users/users.repository.ts';
import { deleteDeadSessions, deleteOtherSessions, deleteSession, findSessionUser, insertSession } from './sessions.repository.ts';
import type { CallerCache } from '../http/caller-cache.ts';
import { isWellFormedToken, newToken, tokenHash } from './tokens.ts';

export interface LoginResult {
  user: User;
  token: string;
  expiresAt: Date;
}

/**
 * Checks the password of the user named by `login` (username or email) and opens a session.
 * Unknown user and wrong password fail alike: same error, and a dummy verification for timing.
 * Failed attempts are budgeted per login identifier as submitted (canonicalised), whatever address
 * they come from and whether or not it names a user, so a lock-out tells nothing about which
 * account, if any, an identifier belongs to. An attempt takes its place in the budget atomically
 * before the password is verified (past the limit, 429 without verifying), and a successful one
 * gives it back: however many run at once, on however many instances, at most the limit of wrong
 * passwords is ever verified per identifier and window.
 */
export async function logIn(db: Kysely<DB>, config: Config, login: string, password: string): Promise<LoginResult> {
  const failures = `login-failed:${canonicalUsername(login)}`;
  const window = config.rateLimitLoginFailureWindowMinutes * 60;
  const budgeted = config.rateLimitLoginFailures > 0;
  if (budgeted) {
    const count = await hit(db, failures, window);
    if (count.hits > config.rateLimitLoginFailures) throw rateLimited(count);
  }
  const user = await findUserByLogin(db, { username: canonicalUsername(login), email: canonicalEmail(login) });
  if (!(await verifyPassword(user?.password_hash, password)) || !user) throw new AppError('INVALID_CREDENTIALS');
  if (budgeted) await unhit(db, failures, window);
  await deleteDeadSessions(db, user.id, config.sessionIdleMinutes);
  const token = newToken();
  const expiresAt = await insertSession(db, { tokenHash: tokenHash(token), userId: user.id, maxHours: config.sessionMaxHours });
  return { user, token, expiresAt };
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
export async function logOut(db: Kysely<DB>, cache: CallerCache, sessionHash: string | undefined): Promise<void> {
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
