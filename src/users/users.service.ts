import type { Kysely } from 'kysely';
import { savepoint, transaction } from '../db/resilient-dialect.ts';
import type { DB } from '../db/schema.ts';
import { uniqueViolation, UNIQUE_INDEXES } from '../db/unique-indexes.ts';
import { AppError, validationError, type FieldIssue } from '../errors/app-error.ts';
import type { Caller } from '../http/env.ts';
import type { SessionCache } from '../sessions/session-cache.ts';
import { deleteOtherSessions } from '../sessions/sessions.repository.ts';
import { hashPassword, verifyPassword } from './password.ts';
import {
  deleteUser,
  findUserById,
  insertUser,
  takenUserFields,
  updateUser,
  type User,
  type UserChanges,
} from './users.repository.ts';

type UniqueUserField = 'username' | 'email';

/**
 * Turns a unique violation from a user write into a 409 listing every taken field (username
 * first), found by a follow-up read; any other error is returned unchanged.
 */
async function userConflict(
  db: Kysely<DB>,
  err: unknown,
  values: Partial<Record<UniqueUserField, string>>,
  exceptUserId?: string,
): Promise<unknown> {
  const index = uniqueViolation(err);
  if (index === undefined) return err;
  const taken = await takenUserFields(db, values, exceptUserId);
  const fields = (['username', 'email'] as const).filter((f) => taken[f]);
  // The holder may be gone by the time we look; the index the database named still decides.
  if (fields.length === 0 && index !== null) fields.push(UNIQUE_INDEXES[index].field as UniqueUserField);
  const [first, ...rest] = fields.map((field): FieldIssue => ({ field, code: 'duplicate' }));
  return first ? new AppError('DUPLICATE_RESOURCE', { errors: [first, ...rest] }) : new AppError('DUPLICATE_RESOURCE');
}

export interface SignupInput {
  username: string;
  email: string;
  nickname: string;
  password: string;
}

/**
 * Creates the user; the unique indexes alone decide whether the username and email are free.
 * `passwordHash` is the password's hash when the caller computed it already.
 */
export async function signUp(db: Kysely<DB>, input: SignupInput, passwordHash?: string): Promise<User> {
  const password_hash = passwordHash ?? (await hashPassword(input.password));
  try {
    return await savepoint(db, (sp) => insertUser(sp, { username: input.username, email: input.email, nickname: input.nickname, password_hash }));
  } catch (err) {
    throw await userConflict(db, err, input);
  }
}

/**
 * Advice for a signup form: 409 when the canonical value is taken now. Not a reservation; signup
 * itself decides.
 */
export async function checkAvailability(
  db: Kysely<DB>,
  query: Partial<Record<UniqueUserField, string>>,
): Promise<{ field: UniqueUserField; value: string; available: true }> {
  const asked = (['username', 'email'] as const).filter((f) => query[f] !== undefined);
  const [field] = asked;
  if (field === undefined || asked.length > 1) {
    throw validationError([{ field: 'username', code: 'one_of', params: { other: 'email' } }]);
  }
  const value = query[field] ?? '';
  const taken = await takenUserFields(db, { [field]: value });
  if (taken[field]) throw new AppError('DUPLICATE_RESOURCE', { errors: [{ field, code: 'duplicate' }] });
  return { field, value, available: true };
}

function requireSelf(caller: Caller, id: string): void {
  if (caller.user.id !== id) throw new AppError('FORBIDDEN');
}

/** The caller sees all of themself; others see the public view. */
export async function getUser(db: Kysely<DB>, caller: Caller, id: string): Promise<{ user: User; self: boolean }> {
  if (caller.user.id === id) return { user: caller.user, self: true };
  const user = await findUserById(db, id);
  if (!user) throw new AppError('NOT_FOUND_RESOURCE');
  return { user, self: false };
}

export interface UserPatch {
  username?: string;
  email?: string;
  nickname?: string;
  password?: string;
  currentPassword?: string;
}

/**
 * Changes the caller's own account. A new password needs the current one and ends the caller's
 * other sessions in the same transaction. The user's cached sessions are forgotten, so the next
 * request sees the change.
 */
export async function updateSelf(db: Kysely<DB>, sessions: SessionCache, caller: Caller, id: string, patch: UserPatch): Promise<User> {
  requireSelf(caller, id);
  const { password, currentPassword, ...profile } = patch;
  if (password === undefined && Object.values(profile).every((v) => v === undefined)) {
    throw validationError([{ field: 'body', code: 'empty_patch' }]);
  }
  const changes: UserChanges = { ...profile };
  if (password !== undefined) {
    // A user created from gateway claims has no password to confirm; the gateway vouched for them.
    if (caller.user.password_hash !== null) {
      if (currentPassword === undefined) throw validationError([{ field: 'currentPassword', code: 'required' }]);
      if (!(await verifyPassword(caller.user.password_hash, currentPassword))) {
        throw validationError([{ field: 'currentPassword', code: 'incorrect' }]);
      }
    }
    changes.password_hash = await hashPassword(password);
  }
  try {
    return await transaction(db, async (trx) => {
      const updated = await updateUser(trx, id, changes);
      if (!updated) throw new AppError('NOT_FOUND_RESOURCE');
      if (password !== undefined) await deleteOtherSessions(trx, id, caller.sessionHash);
      return updated;
    });
  } catch (err) {
    throw await userConflict(db, err, { username: profile.username, email: profile.email }, id);
  } finally {
    sessions.forgetUser(id);
  }
}

/** Deletes the caller's own account with its sessions and projects; the names are free again. */
export async function deleteSelf(db: Kysely<DB>, sessions: SessionCache, caller: Caller, id: string): Promise<void> {
  requireSelf(caller, id);
  await deleteUser(db, id);
  sessions.forgetUser(id);
}
