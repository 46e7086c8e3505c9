import type { Kysely, Selectable } from 'kysely';
import type { DB, UsersTable } from '../db/schema.ts';

/** A user row as the service sees it. */
export type User = Selectable<UsersTable>;

export interface NewUser {
  username: string;
  email: string;
  nickname: string;
  password_hash: string;
}

/** Inserts a user; a taken username or email surfaces as the driver's unique violation. */
export function insertUser(db: Kysely<DB>, user: NewUser): Promise<User> {
  return db.insertInto('users').values(user).returningAll().executeTakeFirstOrThrow();
}

export function findUserById(db: Kysely<DB>, id: string): Promise<User | undefined> {
  return db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
}

/** The user whose canonical username or email equals `login`. */
export function findUserByLogin(db: Kysely<DB>, login: { username: string; email: string }): Promise<User | undefined> {
  return db
    .selectFrom('users')
    .selectAll()
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

export type UserChanges = Partial<Pick<User, 'username' | 'email' | 'nickname' | 'password_hash'>>;

/** Applies `changes` to the user; a taken username or email surfaces as a unique violation. */
export function updateUser(db: Kysely<DB>, id: string, changes: UserChanges): Promise<User | undefined> {
  return db
    .updateTable('users')
    .set((eb) => ({ ...changes, updated_at: eb.fn('now') }))
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirst();
}

/** Deletes the user; sessions and projects go with it (ON DELETE CASCADE). */
export async function deleteUser(db: Kysely<DB>, id: string): Promise<boolean> {
  const result = await db.deleteFrom('users').where('id', '=', id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}
