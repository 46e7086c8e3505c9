import { availableParallelism } from 'node:os';
import { hash, verify } from '@node-rs/argon2';

// OWASP Password Storage Cheat Sheet: argon2id, 19 MiB, 2 iterations, 1 lane. `algorithm: 2` is
// Algorithm.Argon2id, a const enum that isolated-module builds cannot import.
const ARGON2ID = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

// A hash of a random password nobody knows, at the same parameters: verifying against it when the
// login names no user costs what a real verification costs.
const DUMMY_HASH = '$argon2id$v=19$m=19456,t=2,p=1$GRpiSeWANxQe0F5FSu+WgA$CZeUv5rCS79wPBefk2mVtsNn29jspWgD7hwzYp4wiOU';

/**
 * argon2id runs on libuv's thread pool (4 threads by default). More hashes at once than there are
 * cores only take turns on them, and each one's 19 MiB pushes the others' out of the caches: on
 * 2 cores, 32 hashes in flight gave about a quarter more hashes per second, at less CPU each, when
 * 2 ran at a time instead of 4. Past this many, a hash or verification waits for its turn, in order.
 */
const AT_ONCE = availableParallelism();
let running = 0;
const turns: (() => void)[] = [];

async function inTurn<T>(work: () => Promise<T>): Promise<T> {
  if (running < AT_ONCE) running += 1;
  else await new Promise<void>((resolve) => turns.push(resolve));
  try {
    return await work();
  } finally {
    // The slot passes straight to the next in line, if any.
    const next = turns.shift();
    if (next) next();
    else running -= 1;
  }
}

/** argon2id hash of `password` at OWASP parameters. */
export function hashPassword(password: string): Promise<string> {
  return inTurn(() => hash(password, ARGON2ID));
}

/**
 * Verifies `password` against `stored`, or against a dummy hash when there is no user or the user
 * has no password, in the same time.
 */
export async function verifyPassword(stored: string | null | undefined, password: string): Promise<boolean> {
  const ok = await inTurn(() => verify(stored ?? DUMMY_HASH, password));
  return ok && typeof stored === 'string';
}
