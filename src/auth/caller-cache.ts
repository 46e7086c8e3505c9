import type { User } from '../db/schema.ts';

/**
 * The callers this instance identified recently, keyed by what identified them (a session token's
 * hash, or a gateway identity), so that a request does not pay a database round trip just to
 * learn who is calling. An entry lives at most `ttlMs` from the database read that found it, not
 * from its last use: a session revoked on another instance stops working here within that time;
 * this instance forgets at once what it revokes.
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

  /**
   * Remembers what the database said at `readAt` (when the read was sent): believed until `ttlMs`
   * after that, however often it is used, so every session is checked against the database (its
   * revocation, expiry and activity) at least once per `ttlMs` while in use.
   */
  set(tokenHash: string, user: User, readAt: number): void {
    if (this.ttlMs <= 0) return;
    this.#entries.delete(tokenHash);
    // Oldest first: a Map iterates in insertion order.
    if (this.#entries.size >= this.maxEntries) this.#entries.delete(this.#entries.keys().next().value ?? '');
    this.#entries.set(tokenHash, { user, until: readAt + this.ttlMs });
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
