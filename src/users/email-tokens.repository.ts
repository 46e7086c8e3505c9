import { sql, type Kysely } from 'kysely';
import type { DB } from '../db/schema.ts';

export type TokenPurpose = 'verify' | 'reset';

/** Stores a link's token hash, usable once within `minutes`. */
export async function insertEmailToken(
  db: Kysely<DB>,
  token: { userId: string; tokenHash: string; purpose: TokenPurpose; email: string; minutes: number },
): Promise<void> {
  await db
    .insertInto('email_tokens')
    .values({
      user_id: token.userId,
      token_hash: token.tokenHash,
      purpose: token.purpose,
      email: token.email,
      expires_at: sql<Date>`now() + make_interval(mins => ${token.minutes})`,
    })
    .execute();
}

/** A link's token as stored, locked for the rest of the transaction; undefined when unknown, of another purpose, or expired. */
export function lockEmailToken(
  db: Kysely<DB>,
  ref: { userId: string; tokenHash: string },
  purpose: TokenPurpose,
): Promise<{ email: string; used: boolean } | undefined> {
  return db
    .selectFrom('email_tokens')
    .select(['email', sql<boolean>`used_at is not null`.as('used')])
    .where('user_id', '=', ref.userId)
    .where('token_hash', '=', ref.tokenHash)
    .where('purpose', '=', purpose)
    .where('expires_at', '>', sql<Date>`now()`)
    .forUpdate()
    .executeTakeFirst();
}

/** Marks one token used. */
export async function markEmailTokenUsed(db: Kysely<DB>, ref: { userId: string; tokenHash: string }): Promise<void> {
  await db
    .updateTable('email_tokens')
    .set({ used_at: sql<Date>`now()` })
    .where('user_id', '=', ref.userId)
    .where('token_hash', '=', ref.tokenHash)
    .execute();
}

/** Marks every unused token of the user's for `purpose` used: one reset ends the others' links. */
export async function useEmailTokens(db: Kysely<DB>, userId: string, purpose: TokenPurpose): Promise<void> {
  await db
    .updateTable('email_tokens')
    .set({ used_at: sql<Date>`now()` })
    .where('user_id', '=', userId)
    .where('purpose', '=', purpose)
    .where('used_at', 'is', null)
    .execute();
}
