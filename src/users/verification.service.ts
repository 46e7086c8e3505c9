import type { Kysely } from 'kysely';
import type { Config } from '../config.ts';
import type { DB, User } from '../db/schema.ts';
import { savepoint, transaction } from '../db/transaction.ts';
import { uniqueConflict } from '../db/unique-indexes.ts';
import { AppError, validationError } from '../errors/app-error.ts';
import { LOCALES, type Locale } from '../errors/messages.ts';
import { accountMail, type MailKind } from '../mail/mail-texts.ts';
import type { MailJob, MailMessage } from '../mail/mailer.ts';
import { endOtherSessions } from '../auth/auth.service.ts';
import type { CallerCache } from '../auth/caller-cache.ts';
import type { Caller } from '../auth/caller.ts';
import { newToken, readToken, tokenHash } from '../auth/tokens.ts';
import { canonicalEmail, canonicalUsername } from '../canonical.ts';
import { enforce } from '../rate-limits/rate-limit.ts';
import { hit } from '../rate-limits/rate-limits.repository.ts';
import { insertEmailToken, lockEmailToken, markEmailTokenUsed, useEmailTokens } from './email-tokens.repository.ts';
import { hashPassword } from './password.ts';
import { findUserById, findUserByLogin, freeStaleEmail, lockUser, updateUser } from './users.repository.ts';

/** How long a password-reset link works. */
export const RESET_LINK_MINUTES = 60;

type MailConfig = Pick<Config, 'emailClaimHours' | 'publicUrl'>;

function localeOf(user: User): Locale {
  return LOCALES.find((l) => l === user.locale) ?? 'ko';
}

/** Stores a new link's token for `user` and returns the mail that carries it. */
async function linkMail(db: Kysely<DB>, config: MailConfig, user: User, kind: MailKind, email: string): Promise<MailMessage> {
  const token = newToken(user.id);
  const minutes = kind === 'verify' ? config.emailClaimHours * 60 : RESET_LINK_MINUTES;
  await insertEmailToken(db, { userId: user.id, tokenHash: tokenHash(token), purpose: kind, email, minutes });
  return accountMail(kind, { to: email, locale: localeOf(user), publicUrl: config.publicUrl, token, hours: minutes / 60 });
}

/** A verification link for `email`, stored with the write that asked for it; the mail goes once that write commits. */
export async function verificationMail(db: Kysely<DB>, config: MailConfig, user: User, email: string): Promise<MailJob> {
  const message = await linkMail(db, config, user, 'verify', email);
  return () => Promise.resolve(message);
}

/**
 * Writes a user row (`write`) whose email may be claimed by someone who never verified it: when
 * the email index refuses the write and the holder's claim is older than EMAIL_CLAIM_HOURS, the
 * holder loses the address and the write is tried once more, so the index decides again between
 * rivals. Each attempt runs under a savepoint, leaving the transaction usable after a refusal.
 */
export async function writeTakingStaleEmail<T>(
  db: Kysely<DB>,
  email: string | undefined,
  hours: number,
  write: () => Promise<T>,
): Promise<T> {
  try {
    return await savepoint(db, write);
  } catch (err) {
    if (email === undefined || uniqueConflict(err)?.field !== 'email' || !(await freeStaleEmail(db, email, hours))) throw err;
    return savepoint(db, write);
  }
}

const invalidToken = () => validationError([{ field: 'token', code: 'invalid_token' }]);

/** The stored row a presented link token names; a token of any other shape is a 400 at once. */
function tokenRef(token: string): { userId: string; tokenHash: string } {
  const userId = readToken(token)?.userId;
  if (userId === undefined) throw invalidToken();
  return { userId, tokenHash: tokenHash(token) };
}

/**
 * Follows a verification link: the address it was sent to becomes the account's verified email
 * (a pending one replaces the old address, decided by the email index, where an unverified claim
 * past its window gives way). Following it again answers the same while the account still has
 * that address. Unknown, expired, reset or superseded links are a 400 on `token`.
 */
export async function verifyEmail(db: Kysely<DB>, callers: CallerCache, config: MailConfig, token: string): Promise<User> {
  const ref = tokenRef(token);
  try {
    return await transaction(db, async (trx) => {
      const stored = await lockEmailToken(trx, ref, 'verify');
      const user = stored && (await lockUser(trx, ref.userId));
      if (!stored || !user) throw invalidToken();
      if (stored.email === user.email) {
        if (stored.used && user.email_verified) return user;
        if (stored.used) throw invalidToken();
        await markEmailTokenUsed(trx, ref);
        const verified = await updateUser(trx, user.id, { email_verified: true });
        if (!verified) throw invalidToken();
        return verified;
      }
      if (stored.used || stored.email !== user.pending_email) throw invalidToken();
      await markEmailTokenUsed(trx, ref);
      const changed = await writeTakingStaleEmail(trx, stored.email, config.emailClaimHours, () =>
        updateUser(trx, user.id, { email: stored.email, email_verified: true, pending_email: null }),
      );
      if (!changed) throw invalidToken();
      return changed;
    });
  } catch (err) {
    if (uniqueConflict(err)?.field === 'email')
      throw new AppError('DUPLICATE_RESOURCE', { errors: [{ field: 'email', code: 'duplicate' }] });
    throw err;
  } finally {
    callers.forgetUser(ref.userId);
  }
}

/** Mails per account per hour: verification resends and resets together. */
function mailRule(config: Pick<Config, 'rateLimitMailPerHour'>) {
  return { name: 'mail', limit: config.rateLimitMailPerHour, windowSeconds: 3_600 };
}

/**
 * Sends another verification link for the caller's pending email, or their unverified one; 409
 * when there is nothing to verify, 429 past the account's mail limit.
 */
export async function resendVerification(
  db: Kysely<DB>,
  config: MailConfig & Pick<Config, 'rateLimitMailPerHour'>,
  caller: Caller,
  mail: MailJob[],
): Promise<{ email: string }> {
  // Read afresh: the caller's cached row may predate a verification a moment ago.
  const user = await findUserById(db, caller.user.id);
  if (!user) throw new AppError('UNAUTHENTICATED');
  const email = user.pending_email ?? (user.email_verified ? null : user.email);
  if (email === null) throw new AppError('RESOURCE_STATE_CONFLICT', { text: 'state.nothingToVerify' });
  await enforce(db, `mail:${user.id}`, mailRule(config));
  mail.push(await verificationMail(db, config, user, email));
  return { email };
}

/**
 * The mail a reset request sends, prepared after the response so that the answer is the same, and
 * as quick, whether or not `login` names an account. Nothing is sent for an unknown login, an
 * account without an email, or one past its mail limit.
 */
export function passwordResetJob(db: Kysely<DB>, config: MailConfig & Pick<Config, 'rateLimitMailPerHour'>, login: string): MailJob {
  return async () => {
    const user = await findUserByLogin(db, { username: canonicalUsername(login), email: canonicalEmail(login) });
    if (!user?.email) return undefined;
    const rule = mailRule(config);
    if (rule.limit > 0 && (await hit(db, `mail:${user.id}`, rule.windowSeconds)).hits > rule.limit) return undefined;
    return linkMail(db, config, user, 'reset', user.email);
  };
}

/**
 * Follows a reset link: sets the password, ends every session of the account (other instances
 * stop believing theirs within the caller cache's second), ends the account's other reset links,
 * and verifies the address the link was sent to, which the follower has just shown they read.
 */
export async function resetPassword(db: Kysely<DB>, callers: CallerCache, token: string, password: string): Promise<void> {
  const ref = tokenRef(token);
  const password_hash = await hashPassword(password);
  try {
    await transaction(db, async (trx) => {
      const stored = await lockEmailToken(trx, ref, 'reset');
      const user = stored && !stored.used ? await lockUser(trx, ref.userId) : undefined;
      if (!stored || !user) throw invalidToken();
      await useEmailTokens(trx, user.id, 'reset');
      await updateUser(trx, user.id, { password_hash, ...(user.email === stored.email && { email_verified: true }) });
      await endOtherSessions(trx, callers, user.id, undefined);
    });
  } finally {
    callers.forgetUser(ref.userId);
  }
}
