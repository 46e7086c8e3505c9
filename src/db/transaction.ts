import { sql, type Kysely } from 'kysely';
import { isStalePlan, sqlState } from './driver-errors.ts';

/** Attempts in all (the first included) for work refused with 40001 / 40P01. */
export const TRANSIENT_ATTEMPTS = 3;

/**
 * Serialization failure and deadlock victim: PostgreSQL rolled the work back, so it may run again.
 * So may a statement whose prepared plan a migration made stale: the driver prepares it afresh.
 */
export function isTransient(err: unknown): boolean {
  const state = sqlState(err);
  return state === '40001' || state === '40P01' || isStalePlan(err);
}

/** A growing, jittered pause before attempt `attempt + 1`, so that retries of rivals spread out. */
export function pauseBeforeRetry(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 10 * 2 ** attempt + Math.random() * 20));
}

/**
 * Runs `work` in a transaction, running it again (a bounded number of times) when PostgreSQL
 * rolls it back with 40001 / 40P01. `work` must only touch the database.
 */
export async function transaction<DB, T>(db: Kysely<DB>, work: (trx: Kysely<DB>) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction().execute(work);
    } catch (err) {
      if (attempt >= TRANSIENT_ATTEMPTS || !isTransient(err)) throw err;
      await pauseBeforeRetry(attempt);
    }
  }
}

/**
 * Runs one statement that may fail (a unique violation) so that a transaction survives the failure
 * for the reads that explain it: inside a transaction, under a savepoint rolled back on error;
 * outside one, as it is.
 */
export async function savepoint<DB, T>(db: Kysely<DB>, work: (db: Kysely<DB>) => Promise<T>): Promise<T> {
  if (!db.isTransaction) return work(db);
  await sql`savepoint statement`.execute(db);
  try {
    const result = await work(db);
    await sql`release savepoint statement`.execute(db);
    return result;
  } catch (err) {
    await sql`rollback to savepoint statement`.execute(db);
    throw err;
  }
}

/**
 * Runs `work` as one unit: in a transaction of its own, or inside the caller's (a keyed request's)
 * under a savepoint, so that a failure undoes `work` alone and the caller can still explain it.
 */
export function atomically<DB, T>(db: Kysely<DB>, work: (db: Kysely<DB>) => Promise<T>): Promise<T> {
  return db.isTransaction ? savepoint(db, work) : transaction(db, work);
}
