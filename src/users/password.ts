import { hash, verify } from '@node-rs/argon2';

// OWASP Password Storage Cheat Sheet: argon2id, 19 MiB, 2 iterations, 1 lane. `algorithm: 2` is
// Algorithm.Argon2id, a const enum that isolated-module builds cannot import.
const ARGON2ID = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

// A hash of a random password nobody knows, at the same parameters: verifying against it when the
// login names no user costs what a real verification costs.
const DUMMY_HASH = '$argon2id$v=19$m=19456,t=2,p=1$GRpiSeWANxQe0F5FSu+WgA$CZeUv5rCS79wPBefk2mVtsNn29jspWgD7hwzYp4wiOU';

/** argon2id hash of `password` at OWASP parameters. */
export function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2ID);
}

/**
 * Verifies `password` against `stored`, or against a dummy hash when there is no user or the user
 * has no password, in the same time.
 */
export async function verifyPassword(stored: string | null | undefined, password: string): Promise<boolean> {
  const ok = await verify(stored ?? DUMMY_HASH, password);
  return ok && typeof stored === 'string';
}
