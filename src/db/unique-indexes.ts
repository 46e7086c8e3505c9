import { sqlState } from './driver-errors.ts';

/**
 * The one table from unique-index name to the API field it guards. A unique violation (SQLSTATE
 * 23505) names its index in `err.constraint` on both drivers (PGlite and node-postgres); this
 * table turns that name into the API `field`.
 */
export const UNIQUE_INDEXES = {
  users_username_key: { resource: 'user', field: 'username' },
  users_email_key: { resource: 'user', field: 'email' },
  projects_owner_title_key: { resource: 'project', field: 'title' },
  // Never reaches a client: two first requests of one gateway identity race, and the loser reads
  // the winner's user.
  user_identities_issuer_subject_key: { resource: 'user', field: 'identity' },
} as const;

export type UniqueIndexName = keyof typeof UNIQUE_INDEXES;

/**
 * Whether `err` is a unique violation, and of which index. Returns `null` for a unique violation on
 * an index this table does not know, `undefined` for any other error.
 */
export function uniqueViolation(err: unknown): UniqueIndexName | null | undefined {
  if (sqlState(err) !== '23505') return undefined;
  const name = (err as { constraint?: unknown }).constraint;
  return typeof name === 'string' && name in UNIQUE_INDEXES ? (name as UniqueIndexName) : null;
}
