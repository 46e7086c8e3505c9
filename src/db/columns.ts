import { sql } from 'kysely';

/**
 * Column names as SQL, each qualified by `table` when given. Queries name their columns and never
 * `*`: a prepared statement's result shape then survives a migration that adds a column
 * (PostgreSQL refuses to re-run a cached plan whose result type changed).
 */
export function columnList(columns: readonly string[], table?: string) {
  return sql.join(columns.map((c) => sql.ref(table ? `${table}.${c}` : c)));
}
