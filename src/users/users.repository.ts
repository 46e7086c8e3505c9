import { sql, type Kysely } from 'kysely';
import { transaction } from '../db/transaction.ts';
import { USER_COLUMNS, type DB, type User } from '../db/schema.ts';

export interface NewUser {
  username: string;
  email: string | null;
  nickname: string;
  password_hash: string | null;
  /** True only for an address someone else vouched for (a gateway's verified claim). */
  email_verified?: boolean;
  locale?: string;
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
    if (!(await claimUsername(trx, created.username, created.id))) throw new UsernameHeld();
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

/** Which of the given canonical usernames are in use or held, in one query. */
export async function heldUsernames(db: Kysely<DB>, usernames: string[]): Promise<Set<string>> {
  if (usernames.length === 0) return new Set();
  const rows = await db
    .selectFrom('usernames')
    .select('username')
    .where('username', 'in', usernames)
    .where((eb) => eb.or([eb('held_until', 'is', null), eb('held_until', '>', sql<Date>`now()`)]))
    .execute();
  return new Set(rows.map((r) => r.username));
}

/** A username held for someone else since its release: thrown to undo a write that took it. */
export class UsernameHeld extends Error {
  override name = 'UsernameHeld';
}

/**
 * Records that `userId` uses `username`, unless it is held for someone else. The primary key
 * decides: a name nobody has, one whose hold has ended, or one this user released (taking a name
 * back) is taken over; a held one is left as it is and false returned. Runs after the user row's
 * write, whose unique index already decided between names in use.
 */
export async function claimUsername(db: Kysely<DB>, username: string, userId: string): Promise<boolean> {
  const row = await db
    .insertInto('usernames')
    .values({ username, user_id: userId, held_until: null })
    .onConflict((oc) =>
      oc
        .column('username')
        .doUpdateSet({ user_id: userId, held_until: null })
        .where((eb) => eb.or([eb('usernames.held_until', '<=', sql<Date>`now()`), eb('usernames.user_id', '=', userId)])),
    )
    .returning('username')
    .executeTakeFirst();
  return row !== undefined;
}

/** Holds a name its user no longer uses for `days` (0: frees it at once). */
export async function releaseUsername(db: Kysely<DB>, username: string, userId: string, days: number): Promise<void> {
  if (days === 0) {
    await db.deleteFrom('usernames').where('username', '=', username).where('user_id', '=', userId).execute();
    return;
  }
  await db
    .updateTable('usernames')
    .set({ held_until: sql<Date>`now() + make_interval(days => ${days})` })
    .where('username', '=', username)
    .where('user_id', '=', userId)
    .execute();
}

/** Whether `username` is held, released by someone within their hold. */
export async function isUsernameHeld(db: Kysely<DB>, username: string): Promise<boolean> {
  const row = await db
    .selectFrom('usernames')
    .select('username')
    .where('username', '=', username)
    .where('held_until', '>', sql<Date>`now()`)
    .executeTakeFirst();
  return row !== undefined;
}

/** An unverified email whose claim is older than `hours`, as of the database clock. */
const staleClaim = (hours: number) => sql<boolean>`(not email_verified and email_claimed_at < now() - make_interval(hours => ${hours}))`;

/**
 * Takes `email` from a holder who never verified it within `hours`: they keep their account
 * without that address. Returns whether anyone lost it. Rivals after one address queue on the
 * holder's row lock; once the first has taken it, the row no longer holds it for the others.
 */
export async function freeStaleEmail(db: Kysely<DB>, email: string, hours: number): Promise<boolean> {
  const result = await db
    .updateTable('users')
    .set((eb) => ({ email: null, updated_at: eb.fn('now') }))
    .where('email', '=', email)
    .where(staleClaim(hours))
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/** Whether another user's claim on `email` still counts: verified, or unverified inside its window. */
export async function emailBlocked(db: Kysely<DB>, email: string, exceptUserId: string | undefined, hours: number): Promise<boolean> {
  let query = db
    .selectFrom('users')
    .select('id')
    .where('email', '=', email)
    .where((eb) => eb.not(staleClaim(hours)));
  if (exceptUserId !== undefined) query = query.where('id', '<>', exceptUserId);
  return (await query.executeTakeFirst()) !== undefined;
}

/** The user's row, locked for the rest of the transaction. */
export function lockUser(db: Kysely<DB>, id: string): Promise<User | undefined> {
  return db.selectFrom('users').select(USER_COLUMNS).where('id', '=', id).forUpdate().executeTakeFirst();
}

export type UserChanges = Partial<Pick<User, 'username' | 'email' | 'nickname' | 'password_hash' | 'email_verified' | 'pending_email'>>;

/**
 * Applies `changes` to the user; a taken username or email surfaces as a unique violation. A new
 * email's claim starts now, by the database's clock, which also judges its age.
 */
export function updateUser(db: Kysely<DB>, id: string, changes: UserChanges): Promise<User | undefined> {
  return db
    .updateTable('users')
    .set((eb) => ({ ...changes, ...(changes.email !== undefined && { email_claimed_at: eb.fn('now') }), updated_at: eb.fn('now') }))
    .where('id', '=', id)
    .returning(USER_COLUMNS)
    .executeTakeFirst();
}

/**
 * Deletes the user, holding their username for `holdDays`; sessions, projects and mail tokens go
 * with the row (ON DELETE CASCADE).
 */
export function deleteUser(db: Kysely<DB>, id: string, holdDays: number): Promise<boolean> {
  return transaction(db, async (trx) => {
    const deleted = await trx.deleteFrom('users').where('id', '=', id).returning('username').executeTakeFirst();
    if (deleted) await releaseUsername(trx, deleted.username, id, holdDays);
    return deleted !== undefined;
  });
}
