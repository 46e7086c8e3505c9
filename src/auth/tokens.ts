import { createHash, randomBytes } from 'node:crypto';

const TOKEN_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/** A new opaque session token: 256 random bits, base64url. */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** SHA-256 of the token, hex: what the database stores and looks up. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Whether `token` could be one we issued; anything else is refused without a query. */
export function isWellFormedToken(token: string): boolean {
  return TOKEN_SHAPE.test(token);
}
