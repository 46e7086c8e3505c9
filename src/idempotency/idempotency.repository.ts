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

/** A key, as its row is found: the scope (a UUID, see the table) and the client's key. */
export interface KeyRef {
  scopeId: string;
  key: string;
}

/**
 * The scope of a caller with no account yet (signup), a UUID made of the SHA-256 of
 * `anon:<address>`; migration 0009 turned the earlier text scopes into the same.
 */
export function anonymousScope(address: string): string {
  return createHash('sha256')
    .update(`anon:${address}`)
    .digest('hex')
    .slice(0, 32)
    .replace(/^(.{8})(.{4})(.{4})(.{4})/, '$1-$2-$3-$4-');
}

const live = sql<boolean>`created_at > now() - make_interval(hours => ${KEY_LIFETIME_HOURS})`;

/**
 * The key's recorded outcome, unless it has expired, made durable before it is replayed: the
 * lookup is a write to its row, so it commits (and waits for synchronous replication) like the
 * one that recorded it. A read alone does not wait, and the outcome may have committed on the
 * primary only (its commit's wait for the standby was cancelled): replayed, and then lost to a
 * failover, it would be an acknowledged create that is gone. On a node that refuses writes this
 * is a 503, not a replay.
 */
export function recordedOutcome(db: Kysely<DB>, ref: KeyRef): Promise<StoredKey | undefined> {
  return db
    .updateTable('idempotency_keys')
    .set({ created_at: sql<Date>`created_at` })
    .where('scope_id', '=', ref.scopeId)
    .where('key', '=', ref.key)
    .where(live)
    .returning(['fingerprint', 'response_status', 'response_headers', 'response_body'])
    .executeTakeFirst();
}

/**
 * Records a request's outcome under its key, replacing only an expired one; false when a live
 * outcome is recorded already (the caller replays it). The key's primary key is the claim: a
 * second attempt's insert waits for the first's transaction, then finds its outcome, on whichever
 * node either connected to. The expiry compares stored times, not now(), which a distributed
 * PostgreSQL (Citus) refuses in DO UPDATE.
 */
export async function recordOutcome(
  db: Kysely<DB>,
  entry: KeyRef & { fingerprint: string },
  response: { status: number; headers: Record<string, string>; body: string },
): Promise<boolean> {
  const values = {
    fingerprint: entry.fingerprint,
    response_status: response.status,
    response_headers: JSON.stringify(response.headers),
    response_body: response.body,
  };
  const row = await db
    .insertInto('idempotency_keys')
    .values({ scope_id: entry.scopeId, key: entry.key, ...values, created_at: sql<Date>`now()` })
    .onConflict((oc) =>
      oc
        .columns(['scope_id', 'key'])
        .doUpdateSet({ ...values, created_at: sql<Date>`excluded.created_at` })
        .where(sql<boolean>`extract(epoch from (excluded.created_at - idempotency_keys.created_at)) >= ${KEY_LIFETIME_HOURS * 3600}`),
    )
    .returning('key')
    .executeTakeFirst();
  return row !== undefined;
}

/** Deletes keys past their lifetime; returns how many. */
export async function purgeExpiredKeys(db: Kysely<DB>): Promise<number> {
  const result = await db
    .deleteFrom('idempotency_keys')
    .where('created_at', '<', sql<Date>`now() - make_interval(hours => ${KEY_LIFETIME_HOURS})`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
