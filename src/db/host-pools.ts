import pg from 'pg';
import { parseHostList, type TargetSessionAttrs } from '../database-url.ts';
import { runBounded } from './statement-bound.ts';

export interface HostPoolsOptions {
  /** Connections per pool (DB_POOL_MAX); only the current host's pool is in use. */
  max: number;
  /** How long a query waits for a connection (the resilient wrapper's bound). */
  acquireTimeoutMs: number;
  statementTimeoutMs: number;
  onIdleError?: (err: Error) => void;
}

/** Every host was tried and none connected and qualified; classified as the database being unavailable. */
export class NoHostError extends Error {
  constructor(target: TargetSessionAttrs, cause: unknown) {
    super(target === 'any' ? 'No listed database host accepts connections' : `No listed database host is ${target}`, { cause });
    this.name = 'NoHostError';
  }
}

/** Idle connections are closed after this; a Lambda container or a quiet server holds none for long. */
const IDLE_TIMEOUT_MS = 60_000;

/**
 * TCP keepalive on every database connection: a peer that vanished without a reset (a failed-over
 * node, a dropped NAT entry) is noticed on an idle connection instead of on the next request.
 */
const KEEPALIVE_DELAY_MS = 10_000;

const ROLE_CHECK = "select pg_is_in_recovery() as recovery, current_setting('transaction_read_only') = 'on' as read_only";

/**
 * The hosts of DATABASE_URL, one node-postgres pool each, used one at a time as libpq would: a new
 * connection goes to the current host; when it fails to connect, or (for `read-write` / `primary`)
 * the node it reached does not qualify, the next host is tried, and the first that qualifies
 * becomes current. The previous host's pool is ended, so no connection to a node that stopped
 * qualifying is handed out again. With one host this is one pool and no role check.
 */
export class HostPools {
  readonly #urls: string[];
  readonly #target: TargetSessionAttrs;
  readonly #pools: (pg.Pool | undefined)[];
  // Clients whose node was checked when they connected; a check per connection, not per query.
  readonly #checked = new WeakSet<pg.PoolClient>();
  #current = 0;

  constructor(
    url: string,
    private readonly options: HostPoolsOptions,
  ) {
    const { urls, target } = parseHostList(url);
    this.#urls = urls;
    this.#target = target;
    this.#pools = urls.map(() => undefined);
  }

  /** An idle connection on the current host and nobody queued: `connect()` will not wait. */
  canConnectNow(): boolean {
    const pool = this.#pools[this.#current];
    return pool !== undefined && pool.idleCount > 0 && pool.waitingCount === 0;
  }

  /**
   * The connections of the hosts' pools (only the current one holds any for long: a host that
   * failed to connect has none, one left behind is ended) and the queries queued for one; read at
   * each metrics scrape.
   */
  stats(): { total: number; idle: number; waiting: number } {
    const stats = { total: 0, idle: 0, waiting: 0 };
    for (const pool of this.#pools) {
      if (pool === undefined) continue;
      stats.total += pool.totalCount;
      stats.idle += pool.idleCount;
      stats.waiting += pool.waitingCount;
    }
    return stats;
  }

  async connect(): Promise<pg.PoolClient> {
    let failure: unknown;
    // Read once: a concurrent connect may move `#current` while this one walks the list, and each
    // walk must still try every host once.
    const start = this.#current;
    for (let step = 0; step < this.#urls.length; step++) {
      const index = (start + step) % this.#urls.length;
      let client: pg.PoolClient;
      try {
        client = await this.#pool(index).connect();
      } catch (err) {
        failure = err;
        continue;
      }
      try {
        if (this.#known(client) || (await this.#qualifies(client))) {
          if (index !== this.#current) this.#moveTo(index);
          return client;
        }
        client.release(true);
        failure = new Error(`${index + 1}. host does not qualify as ${this.#target}`);
      } catch (err) {
        client.release(true);
        failure = err;
      }
    }
    if (this.#urls.length === 1) throw failure;
    throw new NoHostError(this.#target, failure);
  }

  async end(): Promise<void> {
    const pools = this.#pools.filter((pool) => pool !== undefined);
    this.#pools.fill(undefined);
    await Promise.all(pools.map((pool) => pool.end()));
  }

  /** Qualifies without asking: any host does, or this connection was checked (no await for those). */
  #known(client: pg.PoolClient): boolean {
    return this.#target === 'any' || this.#checked.has(client);
  }

  async #qualifies(client: pg.PoolClient): Promise<boolean> {
    const { rows } = await runBounded<{ recovery: boolean; read_only: boolean }>(
      client,
      { text: ROLE_CHECK },
      this.options.statementTimeoutMs,
    );
    const role = rows[0];
    const ok = role !== undefined && !role.recovery && (this.#target === 'primary' || !role.read_only);
    if (ok) this.#checked.add(client);
    return ok;
  }

  #moveTo(index: number): void {
    const previous = this.#pools[this.#current];
    this.#pools[this.#current] = undefined;
    this.#current = index;
    // Connections still out finish their work and are closed when released.
    void previous?.end().catch(() => undefined);
  }

  #pool(index: number): pg.Pool {
    const existing = this.#pools[index];
    if (existing) return existing;
    const pool = this.#open(this.#urls[index] ?? '');
    this.#pools[index] = pool;
    return pool;
  }

  #open(url: string): pg.Pool {
    const { max, acquireTimeoutMs, onIdleError } = this.options;
    // Each host gets its share of the wait for a connection, so a host that accepts the TCP
    // connection and never answers leaves time to try the next.
    const connectTimeoutMs = Math.max(500, Math.floor(acquireTimeoutMs / this.#urls.length));
    class HostClient extends pg.Client {
      constructor(config?: pg.ClientConfig) {
        super({ ...config, connectionTimeoutMillis: connectTimeoutMs });
      }
    }
    const pool = new pg.Pool({
      connectionString: url,
      Client: HostClient,
      max,
      // Past our own acquire limit, so that the wrapper's coded timeout is what callers see.
      connectionTimeoutMillis: acquireTimeoutMs + 1_000,
      idleTimeoutMillis: IDLE_TIMEOUT_MS,
      keepAlive: true,
      keepAliveInitialDelayMillis: KEEPALIVE_DELAY_MS,
      application_name: 'projects-api',
    });
    pool.on('error', (err) => onIdleError?.(err));
    // A backend killed just as its connection opens can send its FATAL message in the same read as
    // the connection's first ReadyForQuery: the pool hands the client out (dropping its idle
    // listener) and the error is emitted before the borrower's listener is attached, which would
    // end the process. The borrower still learns of it from the failed query.
    pool.on('connect', (client) => client.on('error', () => undefined));
    return pool;
  }
}
