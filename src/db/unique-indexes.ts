import { sqlState } from './driver-errors.ts';

/**
 * The one table from unique-index name to the API field it guards. A unique violation (SQLSTATE
 * 23505) names its index (`err.constraint` on PGlite, `err.constraint_name` on postgres.js); this
 * table turns that name into the API `field`.
 */
export const UNIQUE_INDEXES = {
  users_username_key: { resource: 'user', field: 'username' },
  users_email_key: { resource: 'user', field: 'email' },
  projects_owner_title_key: { resource: 'project', field: 'title' },
} as const;

export type UniqueIndexName = keyof typeof UNIQUE_INDEXES;

/**
 * Whether `err` is a unique violation, and of which index. Returns `null` for a unique violation on
 * an index this table does not know, `undefined` for any other error.
 */
export function uniqueViolation(err: unknown): UniqueIndexName | null | undefined {
  if (sqlState(err) !== '23505') return undefined;
  const e = err as { constraint?: unknown; constraint_name?: unknown };
  // PGlite names it `constraint`; postgres.js names it `constraint_name`.
  const name = e.constraint ?? e.constraint_name;
  return typeof name === 'string' && name in UNIQUE_INDEXES ? (name as UniqueIndexName) : null;
}
