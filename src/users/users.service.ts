import type { Kysely } from 'kysely';
import type { Config } from '../config.ts';
import { atomically, transaction } from '../db/transaction.ts';
import type { DB, User } from '../db/schema.ts';
import { uniqueConflict } from '../db/unique-indexes.ts';
import { AppError, validationError, type FieldIssue } from '../errors/app-error.ts';
import { endOtherSessions } from '../auth/auth.service.ts';
import type { CallerCache } from '../auth/caller-cache.ts';
import type { Caller, GatewayCaller } from '../auth/caller.ts';
import { emailFrom, identityFromClaims, nicknameFrom, usernameBase, withSuffix } from './gateway-identity.ts';
import { hashPassword, verifyPassword } from './password.ts';
import { MAX_SUGGESTIONS, usernameCandidates } from './suggestions.ts';
import type { Locale } from '../errors/messages.ts';
import type { MailJob } from '../mail/mailer.ts';
import {
  claimUsername,
  deleteUser,
  emailBlocked,
  findUserById,
  findUserByIdentity,
  heldUsernames,
  insertUser,
  insertUserWithIdentity,
  isUsernameHeld,
  lockUser,
  releaseUsername,
  takenUserFields,
  updateUser,
  UsernameHeld,
  type GatewayIdentity,
  type NewUser,
  type UserChanges,
} from './users.repository.ts';
import { Username } from './users.schemas.ts';
import { verificationMail, writeTakingStaleEmail } from './verification.service.ts';

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
  if (err instanceof UsernameHeld && values.username !== undefined) return await heldError(db, values.username);
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

/** 409 USERNAME_HELD for a name released recently, with free alternatives as for a taken one. */
async function heldError(db: Kysely<DB>, username: string): Promise<AppError> {
  return new AppError('USERNAME_HELD', {
    errors: [{ field: 'username', code: 'held' }],
    suggestions: await usernameSuggestions(db, username),
  });
}

export interface SignupInput {
  username: string;
  email: string;
  nickname: string;
  password: string;
}

/** What a signup needs besides the form: its language, for the mail, and where mail goes. */
export interface SignupContext {
  config: Pick<Config, 'emailClaimHours' | 'publicUrl'>;
  locale: Locale;
  mail: MailJob[];
}

/**
 * Creates the user and queues the verification mail. The unique indexes decide whether the
 * username and email are free (an unverified claim past its window gives way); then the name's
 * row in `usernames` decides whether it is held. `passwordHash` is the password's hash when the
 * caller computed it already.
 */
export async function signUp(db: Kysely<DB>, input: SignupInput, context: SignupContext, passwordHash?: string): Promise<User> {
  const password_hash = passwordHash ?? (await hashPassword(input.password));
  const row: NewUser = { username: input.username, email: input.email, nickname: input.nickname, password_hash, locale: context.locale };
  try {
    return await atomically(db, async (trx) => {
      const user = await writeTakingStaleEmail(trx, input.email, context.config.emailClaimHours, () => insertUser(trx, row));
      if (!(await claimUsername(trx, user.username, user.id))) throw new UsernameHeld();
      context.mail.push(await verificationMail(trx, context.config, user, input.email));
      return user;
    });
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
      return await insertUserWithIdentity(db, { username, email, nickname, password_hash: null, email_verified: true }, identity);
    } catch (err) {
      if (err instanceof UsernameHeld && attempt < PROVISION_ATTEMPTS) {
        username = withSuffix(base);
        continue;
      }
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
  emailClaimHours: number,
): Promise<{ field: UniqueUserField; value: string; available: true }> {
  const asked = (['username', 'email'] as const).filter((f) => query[f] !== undefined);
  const [field] = asked;
  if (field === undefined || asked.length > 1) {
    throw validationError([{ field: 'username', code: 'one_of', params: { other: 'email' } }]);
  }
  const value = query[field] ?? '';
  if (field === 'email') {
    if (await emailBlocked(db, value, undefined, emailClaimHours)) throw duplicate('email');
    return { field, value, available: true };
  }
  if ((await takenUserFields(db, { username: value })).username) throw duplicate('username', await usernameSuggestions(db, value));
  if (await isUsernameHeld(db, value)) throw await heldError(db, value);
  return { field, value, available: true };
}

function duplicate(field: UniqueUserField, suggestions?: string[]): AppError {
  return new AppError('DUPLICATE_RESOURCE', { errors: [{ field, code: 'duplicate' }], suggestions });
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

/** Where an account change's mail goes, and what it needs to say. */
export interface AccountMailContext {
  config: Pick<Config, 'emailClaimHours' | 'publicUrl' | 'usernameHoldDays'>;
  mail: MailJob[];
}

/**
 * Changes the caller's own account. A new password needs the current one and ends the caller's
 * other sessions in the same transaction. A new email becomes `pendingEmail` and gets a
 * verification mail; it replaces the address only once verified, and another account's claim that
 * still counts is a 409 now (the unique index decides again when it is verified). A new username
 * is claimed in `usernames` (a held one is a 409) and the old one is held. The user's cached
 * sessions are forgotten, so the next request sees the change.
 */
export async function updateSelf(
  db: Kysely<DB>,
  callers: CallerCache,
  caller: Caller,
  id: string,
  patch: UserPatch,
  context: AccountMailContext,
): Promise<User> {
  requireSelf(caller, id);
  const { password, currentPassword, email, ...profile } = patch;
  if (password === undefined && email === undefined && Object.values(profile).every((v) => v === undefined)) {
    throw validationError([{ field: 'body', code: 'empty_patch' }]);
  }
  const { config } = context;
  const changes: UserChanges = { ...profile };
  const newEmail = email !== undefined && email !== caller.user.email ? email : undefined;
  if (email !== undefined) changes.pending_email = newEmail ?? null;
  if (newEmail !== undefined && (await emailBlocked(db, newEmail, id, config.emailClaimHours))) {
    const taken = profile.username === undefined ? false : (await takenUserFields(db, { username: profile.username }, id)).username;
    const issues: [FieldIssue, ...FieldIssue[]] = taken
      ? [
          { field: 'username', code: 'duplicate' },
          { field: 'email', code: 'duplicate' },
        ]
      : [{ field: 'email', code: 'duplicate' }];
    const suggestions = taken && profile.username !== undefined ? await usernameSuggestions(db, profile.username) : undefined;
    throw new AppError('DUPLICATE_RESOURCE', { errors: issues, suggestions });
  }
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
      // The name it gives up, read under the row's lock so that a rival rename cannot slip between.
      const before = profile.username === undefined ? undefined : await lockUser(trx, id);
      const updated = await updateUser(trx, id, changes);
      // The caller's own row is gone: their account was deleted under the request (§6).
      if (!updated) throw new AppError('UNAUTHENTICATED');
      if (before && updated.username !== before.username) {
        if (!(await claimUsername(trx, updated.username, id))) throw new UsernameHeld();
        await releaseUsername(trx, before.username, id, config.usernameHoldDays);
      }
      if (password !== undefined) await endOtherSessions(trx, callers, id, caller.sessionHash);
      if (newEmail !== undefined) context.mail.push(await verificationMail(trx, config, updated, newEmail));
      return updated;
    });
  } catch (err) {
    throw await userConflict(db, err, { username: profile.username }, id);
  } finally {
    callers.forgetUser(id);
  }
}

/**
 * Deletes the caller's own account with its sessions and projects; the email is free again and the
 * username held for USERNAME_HOLD_DAYS. An
 * account already gone (deleted on another instance that this one's cache has not heard of) is a
 * 401, as the request would be a moment later.
 */
export async function deleteSelf(db: Kysely<DB>, callers: CallerCache, caller: Caller, id: string, holdDays: number): Promise<void> {
  requireSelf(caller, id);
  const deleted = await deleteUser(db, id, holdDays);
  callers.forgetUser(id);
  if (!deleted) throw new AppError('UNAUTHENTICATED');
}
