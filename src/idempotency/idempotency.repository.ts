import { createHash } from 'node:crypto';
import { sql, type Kysely } from 'kysely';
import type { DB } from '../db/schema.ts';

/** How long a key is kept. */
export const KEY_LIFETIME_HOURS = 24;

/** A request's recorded outcome. */
export interface StoredKey {
  fingerprint: string;
  response_status: number;
  response_headers: string;
  response_body: string;
}

const live = sql<boolean>`created_at > now() - make_interval(hours => ${KEY_LIFETIME_HOURS})`;

/**
 * The advisory lock id of a key: 64 bits of SHA-256 over scope and key. Two keys sharing an id
 * would only make one wait for (409) the other, never share an outcome.
 */
export function keyLockId(scope: string, key: string): string {
  return createHash('sha256').update(`${scope}\n${key}`).digest().readBigInt64BE().toString();
}

/**
 * Takes the key's lock for the rest of the transaction, without waiting; false when another
 * attempt holds it. The lock ends with the transaction or its connection, so an attempt that can no
 * longer finish never keeps a key.
 */
export async function tryLockKey(trx: Kysely<DB>, lockId: string): Promise<boolean> {
  const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(${lockId}::bigint) as locked`.execute(trx);
  return rows[0]?.locked === true;
}

/** The key's recorded outcome, unless it has expired. */
export function findKey(db: Kysely<DB>, scope: string, key: string): Promise<StoredKey | undefined> {
  return db
    .selectFrom('idempotency_keys')
    .select(['fingerprint', 'response_status', 'response_headers', 'response_body'])
    .where('scope', '=', scope)
    .where('key', '=', key)
    .where(live)
    .executeTakeFirst();
}

/**
 * Makes the key's recorded outcome durable before it is replayed: a write to its row, so the
 * commit waits for synchronous replication like the one that recorded it. A read
 * alone does not wait, and the outcome may have committed on the primary only (its commit's wait
 * for the standby was cancelled): replayed, and then lost to a failover, it would be an
 * acknowledged create that is gone. On a node that refuses writes this is a 503, not a replay.
 */
export async function confirmKey(db: Kysely<DB>, scope: string, key: string): Promise<void> {
  await db
    .updateTable('idempotency_keys')
    .set({ created_at: sql<Date>`created_at` })
    .where('scope', '=', scope)
    .where('key', '=', key)
    .execute();
}

/**
 * Records a request's outcome under its key, replacing only an expired one: a live outcome
 * recorded first stays.
 */
export async function storeResponse(
  db: Kysely<DB>,
  entry: { scope: string; key: string; fingerprint: string },
  response: { status: number; headers: Record<string, string>; body: string },
): Promise<void> {
  const values = {
    fingerprint: entry.fingerprint,
    response_status: response.status,
    response_headers: JSON.stringify(response.headers),
    response_body: response.body,
  };
  await db
    .insertInto('idempotency_keys')
    .values({ scope: entry.scope, key: entry.key, ...values })
    .onConflict((oc) =>
      oc
        .columns(['scope', 'key'])
        .doUpdateSet({ ...values, created_at: sql<Date>`now()` })
        .where('idempotency_keys.created_at', '<=', sql<Date>`now() - make_interval(hours => ${KEY_LIFETIME_HOURS})`),
    )
    .execute();
}

/** Deletes keys past their lifetime; returns how many. */
export async function purgeExpiredKeys(db: Kysely<DB>): Promise<number> {
  const result = await db
    .deleteFrom('idempotency_keys')
    .where('created_at', '<', sql<Date>`now() - make_interval(hours => ${KEY_LIFETIME_HOURS})`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
