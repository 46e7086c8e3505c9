import { sql, type Kysely } from 'kysely';
import type { DB } from '../db/schema.ts';

/** How long a key is kept. */
export const KEY_LIFETIME_HOURS = 24;
/** An attempt still unfinished after this long died with its process; a retry may take the key over. */
export const ABANDONED_AFTER_SECONDS = 60;

export interface StoredKey {
  fingerprint: string;
  response_status: number | null;
  response_headers: string | null;
  response_body: string | null;
}

/**
 * Claims the key for this attempt in one statement: a new key, an expired one, or one whose
 * attempt with the same fingerprint was abandoned. False when someone else holds it.
 */
export async function claimKey(db: Kysely<DB>, scope: string, key: string, fingerprint: string): Promise<boolean> {
  const row = await db
    .insertInto('idempotency_keys')
    .values({ scope, key, fingerprint })
    .onConflict((oc) =>
      oc
        .columns(['scope', 'key'])
        .doUpdateSet((eb) => ({
          fingerprint: eb.ref('excluded.fingerprint'),
          created_at: sql<Date>`now()`,
          locked_at: sql<Date>`now()`,
          response_status: null,
          response_headers: null,
          response_body: null,
        }))
        .where((eb) =>
          eb.or([
            eb('idempotency_keys.created_at', '<', sql<Date>`now() - make_interval(hours => ${KEY_LIFETIME_HOURS})`),
            eb.and([
              eb('idempotency_keys.response_status', 'is', null),
              eb('idempotency_keys.fingerprint', '=', eb.ref('excluded.fingerprint')),
              eb('idempotency_keys.locked_at', '<', sql<Date>`now() - make_interval(secs => ${ABANDONED_AFTER_SECONDS})`),
            ]),
          ]),
        ),
    )
    .returning('scope')
    .executeTakeFirst();
  return row !== undefined;
}

export function findKey(db: Kysely<DB>, scope: string, key: string): Promise<StoredKey | undefined> {
  return db
    .selectFrom('idempotency_keys')
    .select(['fingerprint', 'response_status', 'response_headers', 'response_body'])
    .where('scope', '=', scope)
    .where('key', '=', key)
    .executeTakeFirst();
}

/** Records the response of the attempt that holds the key, for replay. */
export async function storeResponse(
  db: Kysely<DB>,
  scope: string,
  key: string,
  response: { status: number; headers: Record<string, string>; body: string },
): Promise<void> {
  await db
    .updateTable('idempotency_keys')
    .set({ response_status: response.status, response_headers: JSON.stringify(response.headers), response_body: response.body })
    .where('scope', '=', scope)
    .where('key', '=', key)
    .execute();
}

/** Gives up the claim of an attempt that failed with a 5xx, so that a retry may succeed. */
export async function releaseKey(db: Kysely<DB>, scope: string, key: string): Promise<void> {
  await db.deleteFrom('idempotency_keys').where('scope', '=', scope).where('key', '=', key).where('response_status', 'is', null).execute();
}

/** Deletes keys past their lifetime; returns how many. */
export async function purgeExpiredKeys(db: Kysely<DB>): Promise<number> {
  const result = await db
    .deleteFrom('idempotency_keys')
    .where('created_at', '<', sql<Date>`now() - make_interval(hours => ${KEY_LIFETIME_HOURS})`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
