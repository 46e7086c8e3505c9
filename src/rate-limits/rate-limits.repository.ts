import { sql, type Kysely } from 'kysely';
import type { DB } from '../db/schema.ts';

/** A counter's state after a hit or a look. */
export interface WindowCount {
  hits: number;
  /** Whole seconds until the window ends and the count starts again. */
  retryAfter: number;
}

// The window is fixed and computed from the database's clock, so every instance counts into the
// same one.
const windowStart = (seconds: number) => sql<Date>`to_timestamp(floor(extract(epoch from now()) / ${seconds}) * ${seconds})`;

/** Counts one hit in the bucket's current window, in one atomic upsert; returns the new count. */
export async function hit(db: Kysely<DB>, bucket: string, windowSeconds: number): Promise<WindowCount> {
  const { rows } = await sql<WindowCount>`
    insert into rate_limits as r (bucket, window_start, hits)
    values (${bucket}, ${windowStart(windowSeconds)}, 1)
    on conflict (bucket) do update set
      hits = case when r.window_start = excluded.window_start then r.hits + 1 else 1 end,
      window_start = excluded.window_start
    returning hits, ceil(extract(epoch from (window_start + make_interval(secs => ${windowSeconds}) - now())))::int as "retryAfter"`.execute(db);
  const row = rows[0];
  if (!row) throw new Error('rate limit upsert returned no row');
  return row;
}

/** The bucket's count in the current window, without counting. */
export async function peek(db: Kysely<DB>, bucket: string, windowSeconds: number): Promise<WindowCount> {
  const { rows } = await sql<WindowCount>`
    select hits, ceil(extract(epoch from (window_start + make_interval(secs => ${windowSeconds}) - now())))::int as "retryAfter"
    from rate_limits where bucket = ${bucket} and window_start = ${windowStart(windowSeconds)}`.execute(db);
  return rows[0] ?? { hits: 0, retryAfter: 0 };
}

/** Deletes counters whose window ended more than a day ago; returns how many. */
export async function purgeOldCounters(db: Kysely<DB>): Promise<number> {
  const result = await db.deleteFrom('rate_limits').where('window_start', '<', sql<Date>`now() - interval '1 day'`).executeTakeFirst();
  return Number(result.numDeletedRows);
}
