import { randomBytes } from 'node:crypto';
import { canonicalUsername } from '../canonical.ts';
import { Email, Nickname } from './users.schemas.ts';
import type { GatewayIdentity } from './users.repository.ts';

/** A subject longer than this is not an identifier any real issuer hands out. */
const MAX_CLAIM_LENGTH = 255;
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
export function emailFrom(claims: Record<string, unknown>): string | null {
  if (claims.email_verified === false || claims.email_verified === 'false') return null;
  const parsed = Email.safeParse(claims.email);
  return parsed.success ? parsed.data : null;
}

/** The claims' `name`, else `nickname`, when it is a valid nickname; else the username. */
export function nicknameFrom(claims: Record<string, unknown>, username: string): string {
  const parsed = Nickname.safeParse(claim(claims, 'name') ?? claim(claims, 'nickname'));
  return parsed.success ? parsed.data : username;
}
