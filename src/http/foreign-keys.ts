import type { ErrorCode } from '../errors/codes.ts';
import { sqlState, violatedConstraint } from '../db/driver-errors.ts';

/**
 * The one table from foreign-key constraint name to what its violation (SQLSTATE 23503) means to
 * the client. Every reference in the schema points at a user, and the service only ever writes
 * one for a user it has just authenticated; so a violation means the user was deleted under the
 * request (by another request or instance), and the request is answered as if it had arrived a
 * moment later. The schema has no CHECK constraints, and no NOT NULL column the service writes
 * from a row another request can change.
 */
export const FOREIGN_KEYS = {
  // A mailed link stored for an account deleted meanwhile: an email change or a resend whose
  // caller is gone (a reset's link is stored after the answer, and only logged).
  email_tokens_user_id_fkey: 'UNAUTHENTICATED',
  // A project create (or a gateway user's first project) by a caller whose account is gone:
  // their session went with it.
  projects_owner_id_fkey: 'UNAUTHENTICATED',
  // A login whose user was deleted between the password check and the session insert.
  sessions_user_id_fkey: 'INVALID_CREDENTIALS',
  // Inserted in one transaction with its user, so it cannot race today; a gone user all the same.
  user_identities_user_id_fkey: 'UNAUTHENTICATED',
} as const satisfies Record<string, ErrorCode>;

const BY_NAME = new Map<string, ErrorCode>(Object.entries(FOREIGN_KEYS));

/** The client's error for a foreign-key violation of a known constraint; undefined for anything else. */
export function foreignKeyViolation(err: unknown): ErrorCode | undefined {
  if (sqlState(err) !== '23503') return undefined;
  return violatedConstraint(err, BY_NAME);
}
