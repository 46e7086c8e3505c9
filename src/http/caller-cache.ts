import type { User } from '../db/schema.ts';

/**
 * The callers this instance identified recently, keyed by what identified them (a session token's
 * hash, or a gateway identity), so that a request does not pay a database round trip just to
 * learn who is calling. An entry lives at most `ttlMs`: a session revoked on another instance
 * stops working here within that time; this instance forgets at once what it revokes.
 */
export class CallerCache {
  readonly #entries = new Map<string, { user: User; until: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  get(tokenHash: string): User | undefined {
    const entry = this.#entries.get(tokenHash);
    if (!entry) return undefined;
    if (entry.until > Date.now()) return entry.user;
    this.#entries.delete(tokenHash);
    return undefined;
  }

  set(tokenHash: string, user: User): void {
    if (this.ttlMs <= 0) return;
    // Oldest first: a Map iterates in insertion order.
    if (this.#entries.size >= this.maxEntries) this.#entries.delete(this.#entries.keys().next().value ?? '');
    this.#entries.set(tokenHash, { user, until: Date.now() + this.ttlMs });
  }

  /** Forgets one session (logout). */
  forget(tokenHash: string): void {
    this.#entries.delete(tokenHash);
  }

  /** Forgets every session of a user (password change, profile change, deletion). */
  forgetUser(userId: string): void {
    for (const [hash, entry] of this.#entries) if (entry.user.id === userId) this.#entries.delete(hash);
  }
}
