import { sqlState, violatedConstraint } from './driver-errors.ts';

/**
 * The one table of unique indexes and the conflict each one decides: the resource whose value is
 * taken and the API `field` that holds it. A unique violation (SQLSTATE 23505) names its index
 * (violatedConstraint reads it, Citus's shard-suffixed names too); `uniqueConflict` turns that name
 * into an entry of this table, so services reason in resources and fields, never in index names.
 * The migrations that create the indexes take their names from here.
 */
export const UNIQUE_INDEXES = {
  username: { name: 'users_username_key', resource: 'user', field: 'username' },
  email: { name: 'users_email_key', resource: 'user', field: 'email' },
  projectTitle: { name: 'projects_owner_title_key', resource: 'project', field: 'title' },
  // Never reaches a client: two first requests of one gateway identity race, and the loser reads
  // the winner's user.
  gatewayIdentity: { name: 'user_identities_issuer_subject_key', resource: 'user', field: 'identity' },
} as const;

/** The conflict a unique index decides. */
export type UniqueConflict = (typeof UNIQUE_INDEXES)[keyof typeof UNIQUE_INDEXES];

const BY_NAME = new Map<string, UniqueConflict>(Object.values(UNIQUE_INDEXES).map((index) => [index.name, index]));

/**
 * Whether `err` is a unique violation, and which conflict it means. Returns `null` for a unique
 * violation of an index this table does not know, `undefined` for any other error.
 */
export function uniqueConflict(err: unknown): UniqueConflict | null | undefined {
  if (sqlState(err) !== '23505') return undefined;
  return violatedConstraint(err, BY_NAME) ?? null;
}
