import { sql, type Kysely } from 'kysely';
import type { DB } from '../db/schema.ts';

/** A counter's state after a hit or a look. */
export interface WindowCount {
  hits: number;
  /** Whole seconds until the window ends and the count starts again. */
  retryAfter: number;
}

// A bucket's window opens with its first hit and lasts `windowSeconds`; the next hit after that
// opens a new one. Times come from the database's clock, so every instance counts alike.
const inWindow = (seconds: number) => sql<boolean>`r.window_start > now() - make_interval(secs => ${seconds})`;
const retryAfter = (seconds: number) =>
  sql<number>`ceil(extract(epoch from (window_start + make_interval(secs => ${seconds}) - now())))::int`;

/** Counts one hit in the bucket's current window, in one atomic upsert; returns the new count. */
export async function hit(db: Kysely<DB>, bucket: string, windowSeconds: number): Promise<WindowCount> {
  const { rows } = await sql<WindowCount>`
    insert into rate_limits as r (bucket, window_start, hits)
    values (${bucket}, now(), 1)
    on conflict (bucket) do update set
      hits = case when ${inWindow(windowSeconds)} then r.hits + 1 else 1 end,
      window_start = case when ${inWindow(windowSeconds)} then r.window_start else now() end
    returning hits, ${retryAfter(windowSeconds)} as "retryAfter"`.execute(db);
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
    where bucket = ${bucket} and hits > 0 and ${inWindow(windowSeconds)}`.execute(db);
}

/** Deletes counters whose window ended more than a day ago; returns how many. */
export async function purgeOldCounters(db: Kysely<DB>): Promise<number> {
  const result = await db
    .deleteFrom('rate_limits')
    .where('window_start', '<', sql<Date>`now() - interval '1 day'`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
