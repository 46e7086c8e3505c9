import { sql, type Kysely } from 'kysely';
import type { DB } from '../db/schema.ts';

/** A counter's state after a hit or a look. */
export interface WindowCount {
  hits: number;
  /** Whole seconds until the window ends and the count starts again. */
  retryAfter: number;
}

// A bucket's window opens with its first hit and lasts `windowSeconds`; the next hit after that
// opens a new one. Times come from the database's clock, so every instance counts alike. The
// upsert calls now() only in its VALUES (`excluded.hit_at`): a distributed PostgreSQL (Citus)
// refuses a non-immutable function in DO UPDATE SET and RETURNING, so those compare stored times.
const sinceWindowStart = sql<number>`extract(epoch from (excluded.hit_at - r.window_start))`;

/** Counts one hit in the bucket's current window, in one atomic upsert; returns the new count. */
export async function hit(db: Kysely<DB>, bucket: string, windowSeconds: number): Promise<WindowCount> {
  const { rows } = await sql<WindowCount>`
    insert into rate_limits as r (bucket, window_start, hit_at, hits)
    values (${bucket}, now(), now(), 1)
    on conflict (bucket) do update set
      hits = case when ${sinceWindowStart} < ${windowSeconds} then r.hits + 1 else 1 end,
      window_start = case when ${sinceWindowStart} < ${windowSeconds} then r.window_start else excluded.hit_at end,
      hit_at = excluded.hit_at
    returning hits, ceil(${windowSeconds} - extract(epoch from (hit_at - window_start)))::int as "retryAfter"`.execute(db);
  const row = rows[0];
  if (!row) throw new Error('rate limit upsert returned no row');
  return row;
}

/**
 * Takes back one hit counted by `hit` (an attempt that turned out not to count), unless the bucket's
 * window has started again since.
 */
export async function unhit(db: Kysely<DB>, bucket: string, windowSeconds: number): Promise<void> {
  await sql`
    update rate_limits r set hits = hits - 1
    where bucket = ${bucket} and hits > 0 and r.window_start > now() - make_interval(secs => ${windowSeconds})`.execute(db);
}

/** Deletes counters whose window ended more than a day ago; returns how many. */
export async function purgeOldCounters(db: Kysely<DB>): Promise<number> {
  const result = await db
    .deleteFrom('rate_limits')
    .where('window_start', '<', sql<Date>`now() - interval '1 day'`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
