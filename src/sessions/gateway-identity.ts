import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.ts';
import { uniqueViolation } from '../db/unique-indexes.ts';
import { canonicalUsername } from '../users/canonical.ts';
import { Email, Nickname, Username } from '../users/users.schemas.ts';
import { findUserByIdentity, insertUserWithIdentity, type GatewayIdentity, type User } from '../users/users.repository.ts';
import type { SessionCache } from './session-cache.ts';

/** A subject longer than this is not an identifier any real issuer hands out. */
const MAX_CLAIM_LENGTH = 255;
/** Inserts before a first request gives up; each taken username is retried with a fresh random suffix. */
const ATTEMPTS = 6;
const SUFFIX_BYTES = 3;
const USERNAME_MAX = 30;

function claim(claims: Record<string, unknown>, name: string): string | undefined {
  const value = claims[name];
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_CLAIM_LENGTH ? value : undefined;
}

/**
 * The identity the claims name: issuer (`iss`, empty when the authorizer gave none) and subject
 * (`sub`). Claims without a usable `sub` name nobody.
 */
export function identityFromClaims(claims: Record<string, unknown>): GatewayIdentity | undefined {
  const subject = claim(claims, 'sub');
  if (subject === undefined) return undefined;
  return { issuer: claim(claims, 'iss') ?? '', subject };
}

/**
 * A username candidate from `cognito:username`, else `preferred_username`: canonicalised like a
 * typed one, runs of characters a username may not hold become `-`, cut to fit. A claim with
 * nothing usable left is skipped; with none, `user` (the suffix added on retry makes that legal).
 */
export function usernameBase(claims: Record<string, unknown>): string {
  for (const name of ['cognito:username', 'preferred_username']) {
    const cleaned = canonicalUsername(claim(claims, name) ?? '')
      .replace(/[^a-z0-9._-]+/g, '-')
      .slice(0, USERNAME_MAX)
      .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
    if (cleaned.length > 0) return cleaned;
  }
  return 'user';
}

/** `base` cut to leave room for `-` and a random six-hex-digit suffix, then suffixed. */
export function withSuffix(base: string): string {
  const suffix = randomBytes(SUFFIX_BYTES).toString('hex');
  return `${base.slice(0, USERNAME_MAX - suffix.length - 1).replace(/[^a-z0-9]+$/, '')}-${suffix}`;
}

/** The claims' email, canonical, when it is well formed and not explicitly unverified. */
function emailFrom(claims: Record<string, unknown>): string | null {
  if (claims.email_verified === false || claims.email_verified === 'false') return null;
  const parsed = Email.safeParse(claims.email);
  return parsed.success ? parsed.data : null;
}

function nicknameFrom(claims: Record<string, unknown>, username: string): string {
  const parsed = Nickname.safeParse(claim(claims, 'name') ?? claim(claims, 'nickname'));
  return parsed.success ? parsed.data : username;
}

/**
 * Creates the user for an identity seen for the first time. The unique indexes decide every
 * collision: a taken username is retried with a random suffix, a taken email is left out, and if
 * another request linked the identity first, its user is the answer.
 */
async function provision(db: Kysely<DB>, identity: GatewayIdentity, claims: Record<string, unknown>): Promise<User> {
  const base = usernameBase(claims);
  let username = Username.safeParse(base).success ? base : withSuffix(base);
  let email = emailFrom(claims);
  const nickname = nicknameFrom(claims, username);
  for (let attempt = 1; ; attempt++) {
    try {
      return await insertUserWithIdentity(db, { username, email, nickname, password_hash: null }, identity);
    } catch (err) {
      const index = uniqueViolation(err);
      if (attempt >= ATTEMPTS) throw err;
      if (index === 'user_identities_issuer_subject_key') {
        const linked = await findUserByIdentity(db, identity);
        if (linked) return linked;
      } else if (index === 'users_email_key') {
        email = null;
      } else if (index === 'users_username_key') {
        username = withSuffix(base);
      } else {
        throw err;
      }
    }
  }
}

/**
 * The user that trusted gateway claims name, created from the claims when the identity is new;
 * undefined when the claims name nobody. Answers from the session cache like a session token.
 */
export async function gatewayUser(db: Kysely<DB>, cache: SessionCache, claims: Record<string, unknown>): Promise<User | undefined> {
  const identity = identityFromClaims(claims);
  if (identity === undefined) return undefined;
  // Session keys are hex digests, so this key cannot collide with one.
  const key = JSON.stringify([identity.issuer, identity.subject]);
  const cached = cache.get(key);
  if (cached) return cached;
  const readAt = Date.now();
  const user = (await findUserByIdentity(db, identity)) ?? (await provision(db, identity, claims));
  cache.set(key, user, readAt);
  return user;
}
