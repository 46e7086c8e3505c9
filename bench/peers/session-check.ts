import { createHash } from 'node:crypto';
import pg from 'pg';

/**
 * What a user writes by hand: a pool of 10 and a Bearer check that trusts a session it saw in the
 * last second. The same session table the service reads, so the same token works for every peer.
 */
export const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });

const seen = new Map<string, { userId: string; until: number }>();

/** The caller's user id, or undefined for a missing, unknown or expired token. */
export async function bearerUser(authorization: string | undefined): Promise<string | undefined> {
  if (!authorization?.startsWith('Bearer ')) return undefined;
  const hash = createHash('sha256').update(authorization.slice(7)).digest('hex');
  const hit = seen.get(hash);
  if (hit && hit.until > Date.now()) return hit.userId;
  const { rows } = await pool.query<{ id: string }>(
    'select u.id from sessions s join users u on u.id = s.user_id where s.token_hash = $1 and s.expires_at > now()',
    [hash],
  );
  const userId = rows[0]?.id;
  if (userId) seen.set(hash, { userId, until: Date.now() + 1_000 });
  return userId;
}

/** The columns a project answer carries. */
export const PROJECT_COLUMNS = 'id, owner_id, title, description, version, created_at, updated_at, deleted_at';
