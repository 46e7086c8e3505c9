import type { Kysely } from 'kysely';
import { transaction } from '../db/transaction.ts';
import { USER_COLUMNS, type DB, type User } from '../db/schema.ts';

export interface NewUser {
  username: string;
  email: string | null;
  nickname: string;
  password_hash: string | null;
}

/** Who an API Gateway authorizer said the caller is. */
export interface GatewayIdentity {
  issuer: string;
  subject: string;
}

/** Inserts a user; a taken username or email surfaces as the driver's unique violation. */
export function insertUser(db: Kysely<DB>, user: NewUser): Promise<User> {
  return db.insertInto('users').values(user).returning(USER_COLUMNS).executeTakeFirstOrThrow();
}

/**
 * Creates a user and links the gateway identity to them, in one transaction: if another request
 * linked the identity first, its unique violation undoes this user too.
 */
export function insertUserWithIdentity(db: Kysely<DB>, user: NewUser, identity: GatewayIdentity): Promise<User> {
  return transaction(db, async (trx) => {
    const created = await insertUser(trx, user);
    await trx
      .insertInto('user_identities')
      .values({ ...identity, user_id: created.id })
      .execute();
    return created;
  });
}

/** The user an identity is linked to. */
export function findUserByIdentity(db: Kysely<DB>, identity: GatewayIdentity): Promise<User | undefined> {
  return db
    .selectFrom('user_identities')
    .innerJoin('users', 'users.id', 'user_identities.user_id')
    .select(USER_COLUMNS.map((c) => `users.${c}` as const))
    .where('user_identities.issuer', '=', identity.issuer)
    .where('user_identities.subject', '=', identity.subject)
    .executeTakeFirst();
}

export function findUserById(db: Kysely<DB>, id: string): Promise<User | undefined> {
  return db.selectFrom('users').select(USER_COLUMNS).where('id', '=', id).executeTakeFirst();
}

/** Whether the user still exists: asked only after a read of theirs found nothing. */
export async function userExists(db: Kysely<DB>, id: string): Promise<boolean> {
  return (await db.selectFrom('users').select('id').where('id', '=', id).executeTakeFirst()) !== undefined;
}

/** The user whose canonical username or email equals `login`. */
export function findUserByLogin(db: Kysely<DB>, login: { username: string; email: string }): Promise<User | undefined> {
  return db
    .selectFrom('users')
    .select(USER_COLUMNS)
    .where((eb) => eb.or([eb('username', '=', login.username), eb('email', '=', login.email)]))
    .executeTakeFirst();
}

/**
 * Which of the given canonical values other users hold. Runs only after the database has refused
 * a write, to tell the client every taken field, not only the one the index reported first.
 */
export async function takenUserFields(
  db: Kysely<DB>,
  values: { username?: string; email?: string },
  exceptUserId?: string,
): Promise<{ username: boolean; email: boolean }> {
  const { username, email } = values;
  if (username === undefined && email === undefined) return { username: false, email: false };
  let query = db
    .selectFrom('users')
    .select(['username', 'email'])
    .where((eb) =>
      eb.or([
        ...(username === undefined ? [] : [eb('username', '=', username)]),
        ...(email === undefined ? [] : [eb('email', '=', email)]),
      ]),
    );
  if (exceptUserId !== undefined) query = query.where('id', '<>', exceptUserId);
  const rows = await query.execute();
  return {
    username: username !== undefined && rows.some((r) => r.username === username),
    email: email !== undefined && rows.some((r) => r.email === email),
  };
}

/** Which of the given canonical usernames are held, in one query. */
export async function heldUsernames(db: Kysely<DB>, usernames: string[]): Promise<Set<string>> {
  if (usernames.length === 0) return new Set();
  const rows = await db.selectFrom('users').select('username').where('username', 'in', usernames).execute();
  return new Set(rows.map((r) => r.username));
}

export type UserChanges = Partial<Pick<User, 'username' | 'email' | 'nickname' | 'password_hash'>>;

/** Applies `changes` to the user; a taken username or email surfaces as a unique violation. */
export function updateUser(db: Kysely<DB>, id: string, changes: UserChanges): Promise<User | undefined> {
  return db
    .updateTable('users')
    .set((eb) => ({ ...changes, updated_at: eb.fn('now') }))
    .where('id', '=', id)
    .returning(USER_COLUMNS)
    .executeTakeFirst();
}

/** Deletes the user; sessions and projects go with it (ON DELETE CASCADE). */
export async function deleteUser(db: Kysely<DB>, id: string): Promise<boolean> {
  const result = await db.deleteFrom('users').where('id', '=', id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}
