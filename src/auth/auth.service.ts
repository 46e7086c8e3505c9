import type { Kysely } from 'kysely';
import type { Config } from '../config.ts';
import type { DB, User } from '../db/schema.ts';
import { AppError } from '../errors/app-error.ts';
import type { CallerCache } from './caller-cache.ts';
import type { Caller } from './caller.ts';
import { deleteOtherSessions, deleteSession, findLiveSession, insertSession, type LiveSession } from './sessions.repository.ts';
import { newToken, readToken, tokenHash } from './tokens.ts';

/** A session just opened: its token (shown once) and its absolute end. */
export interface OpenedSession {
  token: string;
  expiresAt: Date;
}

/**
 * Live sessions an account may hold: a login beyond this ends the oldest, so sessions a client
 * opens and forgets (a script logging in on every run) cannot pile up.
 */
const MAX_SESSIONS_PER_USER = 20;

/**
 * Opens a session for a user whose credentials were checked. The same transaction ends the user's
 * dead sessions and the oldest beyond MAX_SESSIONS_PER_USER; this instance forgets those at once.
 */
export async function openSession(db: Kysely<DB>, config: Config, cache: CallerCache, userId: string): Promise<OpenedSession> {
  const token = newToken(userId);
  const { expiresAt, ended } = await insertSession(db, {
    tokenHash: tokenHash(token),
    userId,
    maxHours: config.sessionMaxHours,
    idleMinutes: config.sessionIdleMinutes,
    keep: MAX_SESSIONS_PER_USER,
  });
  for (const hash of ended) cache.forget(hash);
  return { token, expiresAt };
}

/**
 * How old a session's recorded activity may grow before a read records it again: a quarter of
 * the idle limit, at most a minute. A session in use is read from the database at least once per
 * caller-cache lifetime (1 s), so its recorded activity is never older than this plus that second,
 * well inside the idle limit at every allowed setting (15 s + 1 s against 60 s at the smallest);
 * and an unused session ends between `idleMinutes` and this much (plus that second) sooner after
 * its last use.
 */
function activityWriteSeconds(idleMinutes: number): number {
  return Math.min(60, idleMinutes * 15);
}

/** Reads the live session a well-formed token names, and lets this instance believe its user for a while. */
async function readSession(
  db: Kysely<DB>,
  config: Config,
  cache: CallerCache,
  sessionHash: string,
  userId: string | undefined,
): Promise<LiveSession | undefined> {
  const readAt = Date.now();
  const session = await findLiveSession(
    db,
    { tokenHash: sessionHash, userId },
    {
      idleMinutes: config.sessionIdleMinutes,
      writeAfterSeconds: activityWriteSeconds(config.sessionIdleMinutes),
    },
  );
  if (!session) return undefined;
  cache.set(sessionHash, session.user, readAt);
  return session;
}

/** The user behind a presented token, with the token's hash, or 401 UNAUTHENTICATED. */
export async function authenticate(
  db: Kysely<DB>,
  config: Config,
  cache: CallerCache,
  token: string | undefined,
): Promise<{ user: User; sessionHash: string }> {
  const shape = token === undefined ? undefined : readToken(token);
  if (token === undefined || shape === undefined) throw new AppError('UNAUTHENTICATED');
  const sessionHash = tokenHash(token);
  const cached = cache.get(sessionHash);
  if (cached) return { user: cached, sessionHash };
  const session = await readSession(db, config, cache, sessionHash, shape.userId);
  if (!session) throw new AppError('UNAUTHENTICATED');
  return { user: session.user, sessionHash };
}

/**
 * The live session a presented token names, with its absolute end; undefined for no token, a
 * malformed one, and one whose session ended. Read from the database, not the caller cache, which
 * knows no session's end; it counts as the session's use, like any authenticated request.
 */
export async function currentSession(
  db: Kysely<DB>,
  config: Config,
  cache: CallerCache,
  token: string | undefined,
): Promise<LiveSession | undefined> {
  const shape = token === undefined ? undefined : readToken(token);
  if (token === undefined || shape === undefined) return undefined;
  return readSession(db, config, cache, tokenHash(token), shape.userId);
}

/**
 * Revokes the session; the token stops working at once here, and within the cache TTL elsewhere.
 * A caller vouched for by an API Gateway authorizer has no session here, so there is nothing to do.
 */
export async function revokeSession(db: Kysely<DB>, cache: CallerCache, caller: Caller): Promise<void> {
  const { sessionHash } = caller;
  if (sessionHash === undefined) return;
  cache.forget(sessionHash);
  await deleteSession(db, caller.user.id, sessionHash);
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
