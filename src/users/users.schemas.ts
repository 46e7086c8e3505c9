import { z } from '@hono/zod-openapi';
import { text } from '../http/validation.ts';
import { canonicalEmail, canonicalUsername, EMAIL_SHAPE, hasSingleScriptParts, INVISIBLE_IN_ADDRESS } from '../canonical.ts';
import type { User } from '../db/schema.ts';

/**
 * Names nobody may take, because they would read as the service speaking or collide with routes.
 * Compared after canonicalisation, so "ＡＤＭＩＮ" and " Root " are refused too.
 */
export const RESERVED_USERNAMES: ReadonlySet<string> = new Set([
  'abuse',
  'account',
  'accounts',
  'admin',
  'administrator',
  'anonymous',
  'api',
  'availability',
  'docs',
  'guest',
  'health',
  'help',
  'hostmaster',
  'info',
  'login',
  'logout',
  'mod',
  'moderator',
  'no-reply',
  'noreply',
  'null',
  'official',
  'openapi',
  'owner',
  'postmaster',
  'project',
  'projects',
  'register',
  'root',
  'security',
  'session',
  'sessions',
  'settings',
  'signup',
  'staff',
  'status',
  'superuser',
  'support',
  'sysadmin',
  'system',
  'undefined',
  'user',
  'users',
  'webmaster',
  'www',
]);

/** Username: trimmed, NFKC, lower-case; 3–30 of a-z 0-9 . _ - starting and ending alphanumeric; not reserved. */
export const Username = text({
  min: 3,
  max: 30,
  canonical: canonicalUsername,
  pattern: /^[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?$/,
  reserved: RESERVED_USERNAMES,
}).openapi({ example: 'alice' });

/**
 * Email: no invisible characters; canonical (NFKC, local part lower-case, domain as UTS 46
 * A-labels); a plausible address of at most 254 characters whose local part and domain labels
 * are each of one script.
 */
export const Email = text({
  min: 3,
  max: 254,
  forbidden: INVISIBLE_IN_ADDRESS,
  canonical: canonicalEmail,
  pattern: EMAIL_SHAPE,
  valid: hasSingleScriptParts,
}).openapi({ example: 'alice@example.com' });

/** Nickname: trimmed, NFC, 1–30 characters of any script. */
export const Nickname = text({ min: 1, max: 30, trim: true, normalize: 'NFC' }).openapi({ example: '앨리스' });

/** Password: 8–128 characters, taken as typed. */
export const Password = text({ min: 8, max: 128 }).openapi({ example: 'correct horse battery' });

export const SignupBody = z.object({ username: Username, password: Password, nickname: Nickname, email: Email }).openapi('SignupRequest');

export const UserPatchBody = z
  .object({
    username: Username.optional(),
    email: Email.optional(),
    nickname: Nickname.optional(),
    password: Password.optional(),
    currentPassword: text({ min: 1, max: 128 }).optional(),
  })
  .openapi('UserPatchRequest');

// No examples: Swagger UI would pre-fill both parameters, and exactly one is allowed.
export const AvailabilityQuery = z.object({
  username: Username.optional().openapi({
    param: { name: 'username', in: 'query', description: 'The username to check, e.g. `alice` (or `email`)' },
    example: undefined,
  }),
  email: Email.optional().openapi({
    param: { name: 'email', in: 'query', description: 'The email to check, e.g. `alice@example.com` (or `username`)' },
    example: undefined,
  }),
});

const timestamp = z.iso.datetime().openapi({ example: '2026-11-22T12:00:00.000Z' });

export const UserSchema = z
  .object({
    id: z.uuid(),
    username: z.string(),
    nickname: z.string(),
    email: z.string().nullable().openapi({
      description:
        'Null for a user created from API Gateway claims that carried no free, verified email, and for one whose unverified address another account took after EMAIL_CLAIM_HOURS',
    }),
    emailVerified: z.boolean().openapi({ description: 'Whether a link mailed to `email` was followed' }),
    pendingEmail: z.string().nullable().openapi({ description: 'An address asked for by a change, replacing `email` once verified' }),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .openapi('User', { description: 'A user as they see themselves.' });

export const PublicUserSchema = z
  .object({ id: z.uuid(), username: z.string(), nickname: z.string(), createdAt: timestamp })
  .openapi('PublicUser', { description: 'A user as others see them.' });

export const AvailabilitySchema = z
  .object({ field: z.enum(['username', 'email']), value: z.string(), available: z.literal(true) })
  .openapi('Availability');

/** The full view, for the user themself. */
export function userView(user: User): z.infer<typeof UserSchema> {
  return {
    id: user.id,
    username: user.username,
    nickname: user.nickname,
    email: user.email,
    emailVerified: user.email_verified,
    pendingEmail: user.pending_email,
    createdAt: user.created_at.toISOString(),
    updatedAt: user.updated_at.toISOString(),
  };
}

/** The public view, for everybody else. */
export function publicUserView(user: User): z.infer<typeof PublicUserSchema> {
  return { id: user.id, username: user.username, nickname: user.nickname, createdAt: user.created_at.toISOString() };
}
