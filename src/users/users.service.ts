import type { Kysely } from 'kysely';
import { savepoint, transaction } from '../db/transaction.ts';
import type { DB, User } from '../db/schema.ts';
import { uniqueConflict } from '../db/unique-indexes.ts';
import { AppError, validationError, type FieldIssue } from '../errors/app-error.ts';
import { endOtherSessions } from '../auth/auth.service.ts';
import type { CallerCache } from '../auth/caller-cache.ts';
import type { Caller, GatewayCaller } from '../auth/caller.ts';
import { emailFrom, identityFromClaims, nicknameFrom, usernameBase, withSuffix } from './gateway-identity.ts';
import { hashPassword, verifyPassword } from './password.ts';
import { MAX_SUGGESTIONS, usernameCandidates } from './suggestions.ts';
import {
  deleteUser,
  findUserById,
  findUserByIdentity,
  heldUsernames,
  insertUser,
  insertUserWithIdentity,
  takenUserFields,
  updateUser,
  type GatewayIdentity,
  type UserChanges,
} from './users.repository.ts';
import { Username } from './users.schemas.ts';

type UniqueUserField = 'username' | 'email';

/** Up to three free alternatives to a taken canonical username, checked in one query. */
async function usernameSuggestions(db: Kysely<DB>, taken: string): Promise<string[]> {
  const candidates = usernameCandidates(taken);
  const held = await heldUsernames(db, candidates);
  return candidates.filter((name) => !held.has(name)).slice(0, MAX_SUGGESTIONS);
}

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
  const conflict = uniqueConflict(err);
  if (conflict === undefined) return err;
  const taken = await takenUserFields(db, values, exceptUserId);
  const fields = (['username', 'email'] as const).filter((f) => taken[f]);
  // The holder may be gone by the time we look; the index the database named still decides.
  if (fields.length === 0 && conflict?.resource === 'user' && (conflict.field === 'username' || conflict.field === 'email')) {
    fields.push(conflict.field);
  }
  const [first, ...rest] = fields.map((field): FieldIssue => ({ field, code: 'duplicate' }));
  if (!first) return new AppError('DUPLICATE_RESOURCE');
  const suggestions =
    fields.includes('username') && values.username !== undefined ? await usernameSuggestions(db, values.username) : undefined;
  return new AppError('DUPLICATE_RESOURCE', { errors: [first, ...rest], suggestions });
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
    return await savepoint(db, (sp) =>
      insertUser(sp, { username: input.username, email: input.email, nickname: input.nickname, password_hash }),
    );
  } catch (err) {
    throw await userConflict(db, err, input);
  }
}

/** Inserts before a first request of a gateway identity gives up; each taken username is retried with a fresh random suffix. */
const PROVISION_ATTEMPTS = 6;

/**
 * Who trusted gateway claims name, for the auth middleware: the identity (issuer + subject) as the
 * caller cache's key, and its user, provisioned on first sight.
 */
export const gatewayCaller: GatewayCaller = (claims) => {
  const identity = identityFromClaims(claims);
  if (identity === undefined) return undefined;
  // Session keys are hex digests, so this key cannot collide with one.
  return { key: JSON.stringify([identity.issuer, identity.subject]), user: (db) => gatewayUser(db, identity, claims) };
};

/**
 * The user a gateway identity is linked to, created from the claims when the identity is new.
 * The unique indexes decide every collision: a taken username is retried with a random suffix, a
 * taken email is left out, and if another request linked the identity first, its user is the
 * answer.
 */
export async function gatewayUser(db: Kysely<DB>, identity: GatewayIdentity, claims: Record<string, unknown>): Promise<User> {
  const linked = await findUserByIdentity(db, identity);
  if (linked) return linked;
  const base = usernameBase(claims);
  let username = Username.safeParse(base).success ? base : withSuffix(base);
  let email = emailFrom(claims);
  const nickname = nicknameFrom(claims, username);
  for (let attempt = 1; ; attempt++) {
    try {
      return await insertUserWithIdentity(db, { username, email, nickname, password_hash: null }, identity);
    } catch (err) {
      const conflict = uniqueConflict(err);
      if (attempt >= PROVISION_ATTEMPTS || conflict?.resource !== 'user') throw err;
      if (conflict.field === 'identity') {
        const winner = await findUserByIdentity(db, identity);
        if (winner) return winner;
      } else if (conflict.field === 'email') {
        email = null;
      } else if (conflict.field === 'username') {
        username = withSuffix(base);
      } else {
        throw err;
      }
    }
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
  if (taken[field]) {
    const suggestions = field === 'username' ? await usernameSuggestions(db, value) : undefined;
    throw new AppError('DUPLICATE_RESOURCE', { errors: [{ field, code: 'duplicate' }], suggestions });
  }
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
export async function updateSelf(db: Kysely<DB>, callers: CallerCache, caller: Caller, id: string, patch: UserPatch): Promise<User> {
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
      // The caller's own row is gone: their account was deleted under the request (§6).
      if (!updated) throw new AppError('UNAUTHENTICATED');
      if (password !== undefined) await endOtherSessions(trx, callers, id, caller.sessionHash);
      return updated;
    });
  } catch (err) {
    throw await userConflict(db, err, { username: profile.username, email: profile.email }, id);
  } finally {
    callers.forgetUser(id);
  }
}

/**
 * Deletes the caller's own account with its sessions and projects; the names are free again. An
 * account already gone (deleted on another instance that this one's cache has not heard of) is a
 * 401, as the request would be a moment later.
 */
export async function deleteSelf(db: Kysely<DB>, callers: CallerCache, caller: Caller, id: string): Promise<void> {
  requireSelf(caller, id);
  const deleted = await deleteUser(db, id);
  callers.forgetUser(id);
  if (!deleted) throw new AppError('UNAUTHENTICATED');
}
