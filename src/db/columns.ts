import { sql } from 'kysely';

/** An identifier as PostgreSQL reads it quoted, as Kysely quotes one (`"` doubled). */
function quoted(identifier: string): string {
  return `"${identifier.replaceAll('"', '""')}"`;
}

/**
 * Column names as SQL, each qualified by `table` when given. Queries name their columns and never
 * `*`: a prepared statement's result shape then survives a migration that adds a column
 * (PostgreSQL refuses to re-run a cached plan whose result type changed). The list is one raw
 * fragment, written once, the text Kysely would compile from a reference per column: compiling
 * those references again for every statement was most of what building a create cost Kysely.
 * The names are the code's own, never input.
 */
export function columnList(columns: readonly string[], table?: string) {
  const prefix = table === undefined ? '' : `${quoted(table)}.`;
  return sql.raw(columns.map((c) => `${prefix}${quoted(c)}`).join(', '));
}
