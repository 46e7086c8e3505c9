import { sql, type Kysely } from 'kysely';
import type { DB } from '../../src/db/schema.ts';

/**
 * Two users, each with a session past its absolute expiry, one idle past the default 30 minutes,
 * and one live: what maintenance must purge (four) and keep (two).
 */
export async function seedDeadAndLiveSessions(db: Kysely<DB>): Promise<void> {
  for (const name of ['maint-a', 'maint-b']) {
    const { rows } = await sql<{ id: string }>`
      insert into users (username, email, nickname, password_hash) values (${name}, ${`${name}@example.com`}, 'm', null)
      returning id`.execute(db);
    const userId = rows[0]?.id ?? '';
    await sql`insert into sessions (token_hash, user_id, last_seen_at, expires_at) values
      (${`${name}:expired`}, ${userId}, now(), now() - interval '1 second'),
      (${`${name}:idle`}, ${userId}, now() - interval '31 minutes', now() + interval '1 hour'),
      (${`${name}:live`}, ${userId}, now(), now() + interval '1 hour')`.execute(db);
  }
}

/** The token hashes of the sessions left. */
export async function remainingSessions(db: Kysely<DB>): Promise<string[]> {
  const rows = await db.selectFrom('sessions').select('token_hash').orderBy('token_hash').execute();
  return rows.map((r) => r.token_hash);
}

export const LIVE_SEEDED_SESSIONS = ['maint-a:live', 'maint-b:live'];
