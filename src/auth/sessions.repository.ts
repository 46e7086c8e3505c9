import { sql, type Kysely } from 'kysely';
import { columnList } from '../db/columns.ts';
import { isReadOnly } from '../db/driver-errors.ts';
import { transaction } from '../db/transaction.ts';
import { USER_COLUMNS, type DB, type User } from '../db/schema.ts';

const SESSION_USER = columnList(USER_COLUMNS, 'u');
const LIVE_USER = columnList(USER_COLUMNS);

/** A session past either timeout, as of the statement's `now()`. */
const dead = (idleMinutes: number) => sql<boolean>`(expires_at <= now() or last_seen_at <= now() - make_interval(mins => ${idleMinutes}))`;

/**
 * Stores a new session that ends `maxHours` from now at the latest, and ends the user's sessions
 * past either timeout and those beyond the newest `keep` (the new one counted, oldest first).
 * Returns the new session's end and the token hashes of the sessions it ended. Logins of one user
 * take turns on the user's row lock, so each counts what the ones before it committed, however
 * many run at once; `created_at` follows that order (strictly increasing per user), so "newest"
 * is never a tie. A user deleted meanwhile fails the insert on the foreign key.
 */
export async function insertSession(
  db: Kysely<DB>,
  session: { tokenHash: string; userId: string; maxHours: number; idleMinutes: number; keep: number },
): Promise<{ expiresAt: Date; ended: string[] }> {
  const { tokenHash, userId, idleMinutes } = session;
  return transaction(db, async (trx) => {
    // The user's row lock, and the newest session it orders after, in one statement: a subquery
    // in an INSERT's VALUES would not run on a distributed PostgreSQL (Citus).
    const { rows: locked } = await sql<{ latest: Date | null }>`
      select (select max(created_at) from sessions where user_id = ${userId}) as latest
      from users where id = ${userId} for no key update`.execute(trx);
    const latest = locked[0]?.latest ?? null;
    // The newest keep - 1 others stay. The new row is left out by name: PostgreSQL's snapshot
    // would not show it to the DELETE, but Citus runs each part of the statement on its own.
    const { rows } = await sql<{ expires_at: Date; ended: string[] }>`
      with inserted as (
        insert into sessions (token_hash, user_id, created_at, expires_at)
        values (
          ${tokenHash}, ${userId},
          greatest(clock_timestamp(), ${latest}::timestamptz + interval '1 millisecond'),
          now() + make_interval(hours => ${session.maxHours})
        )
        returning expires_at
      ), ended as (
        delete from sessions
        where user_id = ${userId} and token_hash <> ${tokenHash}
          and (${dead(idleMinutes)} or token_hash in (
            select token_hash from sessions
            where user_id = ${userId} and token_hash <> ${tokenHash} and not ${dead(idleMinutes)}
            order by created_at desc
            offset ${session.keep - 1}
          ))
        returning token_hash
      )
      select (select expires_at from inserted) as expires_at, array(select token_hash from ended) as ended`.execute(trx);
    const [row] = rows;
    if (!row) throw new Error('the session insert returned no row');
    return { expiresAt: row.expires_at, ended: row.ended };
  });
}

/**
 * Deletes every session, of every user, past either timeout; returns how many. No index serves
 * it: one on `last_seen_at` would turn every activity write into an index update, for an hourly
 * scan of a table the per-user cap keeps small.
 */
export async function purgeDeadSessions(db: Kysely<DB>, idleMinutes: number): Promise<number> {
  const result = await db.deleteFrom('sessions').where(dead(idleMinutes)).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** A presented session: the token's hash, and its user when the token names one (src/auth/tokens.ts). */
export interface SessionRef {
  tokenHash: string;
  userId: string | undefined;
}

// With the user the lookup is a primary-key read on the user's shard; a token of the earlier
// shape is found by its hash alone.
const sessionIs = (ref: SessionRef, alias: string) =>
  ref.userId === undefined
    ? sql`${sql.ref(`${alias}.token_hash`)} = ${ref.tokenHash}`
    : sql`${sql.ref(`${alias}.user_id`)} = ${ref.userId} and ${sql.ref(`${alias}.token_hash`)} = ${ref.tokenHash}`;

/** A live session's user and absolute end. */
export interface LiveSession {
  user: User;
  expiresAt: Date;
}

/**
 * The user and end of a live session, in one round trip. The read records activity only when the
 * recorded one is older than `writeAfterSeconds`, to keep reads from writing on every request; the
 * same statement, at the same `now()`, decides whether the session is idle.
 */
export async function findLiveSession(
  db: Kysely<DB>,
  ref: SessionRef,
  timing: { idleMinutes: number; writeAfterSeconds: number },
): Promise<LiveSession | undefined> {
  type Row = User & { session_expires_at: Date };
  let rows: Row[];
  try {
    ({ rows } = await sql<Row>`
      with live as (${liveSession(ref, timing.idleMinutes)}), touched as (
        update sessions t set last_seen_at = now()
        where ${sessionIs(ref, 't')}
          and last_seen_at < now() - make_interval(secs => ${timing.writeAfterSeconds})
          and exists (select 1 from live)
      )
      select ${LIVE_USER}, session_expires_at from live`.execute(db));
  } catch (err) {
    // A read-only node (a standby during a failover) still answers who is calling, so reads go on;
    // the activity is recorded by a later request on a node that takes writes.
    if (!isReadOnly(err)) throw err;
    ({ rows } = await sql<Row>`
      with live as (${liveSession(ref, timing.idleMinutes)})
      select ${LIVE_USER}, session_expires_at from live`.execute(db));
  }
  const row = rows[0];
  if (!row) return undefined;
  const { session_expires_at: expiresAt, ...user } = row;
  return { user, expiresAt };
}

function liveSession(ref: SessionRef, idleMinutes: number) {
  return sql`select ${SESSION_USER}, s.expires_at as session_expires_at from sessions s join users u on u.id = s.user_id
    where ${sessionIs(ref, 's')}
      and s.expires_at > now()
      and s.last_seen_at > now() - make_interval(mins => ${idleMinutes})`;
}

export async function deleteSession(db: Kysely<DB>, userId: string, tokenHash: string): Promise<void> {
  await db.deleteFrom('sessions').where('user_id', '=', userId).where('token_hash', '=', tokenHash).execute();
}

/** Ends every session of the user except the one that asked (all of them when none did). */
export async function deleteOtherSessions(db: Kysely<DB>, userId: string, keepTokenHash: string | undefined): Promise<void> {
  let query = db.deleteFrom('sessions').where('user_id', '=', userId);
  if (keepTokenHash !== undefined) query = query.where('token_hash', '<>', keepTokenHash);
  await query.execute();
}
