import { createHash, randomBytes } from 'node:crypto';

// `<user id, 16 bytes base64url>.<256 random bits, base64url>`. The user id lets the session
// lookup name the user's shard when sessions are distributed by user (docs/scale-out.md); it is
// no secret (the API shows it), the random part is. Tokens issued before carried the random part
// alone and stay valid until they expire.
const TOKEN_SHAPE = /^(?:([A-Za-z0-9_-]{22})\.)?[A-Za-z0-9_-]{43}$/;

/** A new opaque session token of `userId`'s. */
export function newToken(userId: string): string {
  return `${Buffer.from(userId.replaceAll('-', ''), 'hex').toString('base64url')}.${randomBytes(32).toString('base64url')}`;
}

/** SHA-256 of the token, hex: what the database stores and looks up. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * What a presented token says before any query: undefined when it cannot be one we issued;
 * `userId` undefined for a token of the earlier shape.
 */
export function readToken(token: string): { userId: string | undefined } | undefined {
  const match = TOKEN_SHAPE.exec(token);
  if (!match) return undefined;
  const owner = match[1];
  if (owner === undefined) return { userId: undefined };
  const hex = Buffer.from(owner, 'base64url').toString('hex');
  // 22 base64url characters hold 132 bits: the last two must be zero, as newToken leaves them.
  if (hex.length !== 32 || Buffer.from(hex, 'hex').toString('base64url') !== owner) return undefined;
  return { userId: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}` };
}
