import { sql, type Kysely } from 'kysely';
import { columnList } from '../db/columns.ts';
import type { DB } from '../db/schema.ts';
import type { User } from '../db/schema.ts';
import { USER_COLUMNS } from '../users/users.repository.ts';

const SESSION_USER = columnList(USER_COLUMNS, 'u');
const LIVE_USER = columnList(USER_COLUMNS);

/** Stores a new session that ends `maxHours` from now at the latest; returns that end. */
export async function insertSession(db: Kysely<DB>, session: { tokenHash: string; userId: string; maxHours: number }): Promise<Date> {
  const row = await db
    .insertInto('sessions')
    .values({
      token_hash: session.tokenHash,
      user_id: session.userId,
      expires_at: sql<Date>`now() + make_interval(hours => ${session.maxHours})`,
    })
    .returning('expires_at')
    .executeTakeFirstOrThrow();
  return row.expires_at;
}

/** Removes a user's sessions that have passed either timeout. */
export async function deleteDeadSessions(db: Kysely<DB>, userId: string, idleMinutes: number): Promise<void> {
  await db
    .deleteFrom('sessions')
    .where('user_id', '=', userId)
    .where((eb) =>
      eb.or([eb('expires_at', '<=', sql<Date>`now()`), eb('last_seen_at', '<=', sql<Date>`now() - make_interval(mins => ${idleMinutes})`)]),
    )
    .execute();
}

/**
 * The user of a live session, in one round trip. The read records activity only when the recorded
 * one is older than `writeAfterSeconds`, to keep reads from writing on every request; the same
 * statement, at the same `now()`, decides whether the session is idle.
 */
export async function findSessionUser(
  db: Kysely<DB>,
  tokenHash: string,
  timing: { idleMinutes: number; writeAfterSeconds: number },
): Promise<User | undefined> {
  const { rows } = await sql<User>`
    with live as (
      select ${SESSION_USER} from sessions s join users u on u.id = s.user_id
      where s.token_hash = ${tokenHash}
        and s.expires_at > now()
        and s.last_seen_at > now() - make_interval(mins => ${timing.idleMinutes})
    ), touched as (
      update sessions set last_seen_at = now()
      where token_hash = ${tokenHash}
        and last_seen_at < now() - make_interval(secs => ${timing.writeAfterSeconds})
        and exists (select 1 from live)
    )
    select ${LIVE_USER} from live`.execute(db);
  return rows[0];
}

export async function deleteSession(db: Kysely<DB>, tokenHash: string): Promise<void> {
  await db.deleteFrom('sessions').where('token_hash', '=', tokenHash).execute();
}

/** Ends every session of the user except the one that asked (all of them when none did). */
export async function deleteOtherSessions(db: Kysely<DB>, userId: string, keepTokenHash: string | undefined): Promise<void> {
  let query = db.deleteFrom('sessions').where('user_id', '=', userId);
  if (keepTokenHash !== undefined) query = query.where('token_hash', '<>', keepTokenHash);
  await query.execute();
}
