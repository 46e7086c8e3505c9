import type { Kysely } from 'kysely';
import type { Config } from '../config.ts';
import type { DB, User } from '../db/schema.ts';
import { openSession, type OpenedSession } from '../auth/auth.service.ts';
import type { CallerCache } from '../auth/caller-cache.ts';
import { AppError } from '../errors/app-error.ts';
import { canonicalEmail, canonicalUsername } from '../canonical.ts';
import { rateLimited } from '../rate-limits/rate-limit.ts';
import { hit, unhit } from '../rate-limits/rate-limits.repository.ts';
import { verifyPassword } from '../users/password.ts';
import { findUserByLogin } from '../users/users.repository.ts';

export interface LoginResult extends OpenedSession {
  user: User;
}

/**
 * Checks the password of the user named by `login` (username or email) and opens a session.
 * Unknown user and wrong password fail alike: same error, and a dummy verification for timing.
 * Failed attempts are budgeted per login identifier as submitted (canonicalised), whatever address
 * they come from and whether or not it names a user, so a lock-out tells nothing about which
 * account, if any, an identifier belongs to. An attempt takes its place in the budget atomically
 * before the password is verified (past the limit, 429 without verifying), and a successful one
 * gives it back: however many run at once, on however many instances, at most the limit of wrong
 * passwords is ever verified per identifier and window. The new session ends the user's dead
 * sessions and those beyond MAX_SESSIONS_PER_USER, oldest first; this instance forgets them at once.
 */
export async function logIn(db: Kysely<DB>, config: Config, callers: CallerCache, login: string, password: string): Promise<LoginResult> {
  const failures = `login-failed:${canonicalUsername(login)}`;
  const window = config.rateLimitLoginFailureWindowMinutes * 60;
  const budgeted = config.rateLimitLoginFailures > 0;
  if (budgeted) {
    const count = await hit(db, failures, window);
    if (count.hits > config.rateLimitLoginFailures) throw rateLimited(count, 'login_failures');
  }
  const user = await findUserByLogin(db, { username: canonicalUsername(login), email: canonicalEmail(login) });
  if (!(await verifyPassword(user?.password_hash, password)) || !user) throw new AppError('INVALID_CREDENTIALS');
  if (budgeted) await unhit(db, failures, window);
  return { user, ...(await openSession(db, config, callers, user.id)) };
}
