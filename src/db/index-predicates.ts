import { sql } from 'kysely';

// Partial-index predicates, each written once for the migration that creates the index and for
// the queries that must be able to use it: PostgreSQL considers a partial index only for a query
// whose WHERE implies the index's predicate. test/query-plans.test.ts checks which index each key
// query uses. Changing one changes a fresh database but not an existing one: that needs a new
// migration that recreates the index.

/**
 * The per-owner unique title index (projects_owner_title_key): live projects. `title_key IS NOT
 * NULL` is always true (the column is NOT NULL) and only lookups by title imply it, so the listing
 * cannot be served from this index when the statistics are stale, as they always are on PGlite,
 * which runs no autovacuum.
 */
export const LIVE_TITLE_PREDICATE = sql<boolean>`deleted_at is null and title_key is not null`;

/**
 * The live listing's ordered index (projects_owner_live_created). `created_at > '-infinity'` is
 * always true (the column defaults to now() and is never set otherwise) and only the listing
 * states it, so a lookup by title cannot be served from this index. It is not written `created_at
 * IS NOT NULL`: PostgreSQL 17 drops that from a query (the column is NOT NULL) before it matches
 * partial indexes, and the listing could then use no index with it (migration 0004's mistake).
 */
export const LIVE_LISTING_PREDICATE = sql<boolean>`deleted_at is null and created_at > '-infinity'`;
