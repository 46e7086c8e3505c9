import {
  PostgresAdapter,
  PostgresDriver,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type CompiledQuery,
  type DatabaseConnection,
  type Dialect,
  type QueryResult,
} from 'kysely';
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { runBounded } from './statement-bound.ts';
import { isConnectionFatal, isStalePlan } from './driver-errors.ts';
import type { HostPools } from './host-pools.ts';
import type { ImmediateAcquire } from './resilient-dialect.ts';

/** How many distinct statements get a name; past this, statements run unnamed. */
const MAX_NAMED_STATEMENTS = 256;

// A list whose length depends on the input (`in ($1, $2, …)`) makes a new text per length.
const VARIABLE_LIST = /\bin \(\$\d/i;

/**
 * Names for the statements of one pool, when prepared statements are on (`DB_PREPARED_STATEMENTS`).
 * A named statement is parsed and planned once per connection (node-postgres keeps the
 * per-connection cache) instead of on every call. Kysely's SQL is parameterised, so the texts are a
 * small set; a text with a variable-length list, and any past MAX_NAMED_STATEMENTS, runs unnamed so
 * that no connection's cache can grow without bound. Statements without parameters take the simple
 * protocol (BEGIN, COMMIT, migrations' DDL) and are not named. Names carry a random tag of this
 * pool's, so that two processes sharing a server connection (a pooler in session mode handing one
 * over) never run each other's statement of the same name.
 */
class StatementNames {
  readonly #names = new Map<string, string>();
  readonly #tag = randomBytes(4).toString('hex');
  #next = 0;

  nameOf(query: CompiledQuery): string | undefined {
    if (query.parameters.length === 0) return undefined;
    const known = this.#names.get(query.sql);
    if (known !== undefined || this.#names.size >= MAX_NAMED_STATEMENTS || VARIABLE_LIST.test(query.sql)) return known;
    const name = `p${this.#tag}_${(this.#next++).toString(36)}`;
    this.#names.set(query.sql, name);
    return name;
  }

  /**
   * PostgreSQL refused `name`'s cached plan (a migration changed its result type): the text gets a
   * new name, so every connection prepares it afresh; the stale one is never sent again.
   */
  stale(sql: string, name: string): void {
    if (this.#names.get(sql) === name) this.#names.delete(sql);
  }
}

class PgConnection implements DatabaseConnection {
  #lost: Error | undefined;

  // The pool listens for errors only on idle clients. A checked-out client whose socket dies
  // between queries emits 'error' with nobody listening, which would end the process.
  readonly #onError = (err: Error) => {
    this.#lost = err;
  };

  constructor(
    private readonly client: pg.PoolClient,
    private readonly names: StatementNames | undefined,
    private readonly timeoutMs: number,
  ) {
    client.on('error', this.#onError);
  }

  // A stale plan is passed on after renaming the text: the resilient wrapper runs the statement
  // (or, inside a transaction, the transaction) again, which prepares it afresh.
  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const name = this.names?.nameOf(query);
    try {
      const { command, rowCount, rows } = await runBounded<R & pg.QueryResultRow>(
        this.client,
        { text: query.sql, values: query.parameters as unknown[], ...(name !== undefined && { name }) },
        this.timeoutMs,
      );
      const writes = command === 'INSERT' || command === 'UPDATE' || command === 'DELETE' || command === 'MERGE';
      return { rows, ...(writes && { numAffectedRows: BigInt(rowCount ?? 0) }) };
    } catch (err) {
      if (isConnectionFatal(err)) this.#lost = err as Error;
      if (name !== undefined && isStalePlan(err)) this.names?.stale(query.sql, name);
      throw err;
    }
  }

  /** Part of Kysely's interface; the service never streams. */
  streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error('Streaming queries are not used by this service');
  }

  /** Back to the pool, or, after a connection-level failure, destroyed so nobody gets it again. */
  release(): void {
    this.client.off('error', this.#onError);
    this.client.release(this.#lost);
  }
}

export interface PgDriverOptions {
  hosts: HostPools;
  /** Bound on every statement (DB_STATEMENT_TIMEOUT_MS). */
  statementTimeoutMs: number;
  /** Name statements so each connection plans them once (DB_PREPARED_STATEMENTS). */
  preparedStatements: boolean;
}

// Kysely's own driver releases a client with `release()` even after its backend died: the FATAL
// message can arrive before the socket closes, so the pool would hand the dead client to the next
// query. This driver keeps Kysely's transaction and savepoint SQL and replaces only how
// connections are acquired, bounded and released.
class PgDriver extends PostgresDriver implements ImmediateAcquire {
  readonly #names: StatementNames | undefined;

  constructor(private readonly options: PgDriverOptions) {
    // Kysely's driver needs a pool only in the methods overridden here; the host pools replace it.
    super({ pool: () => Promise.reject(new Error('PgDriver connects through its host pools')) });
    this.#names = options.preparedStatements ? new StatementNames() : undefined;
  }

  override init(): Promise<void> {
    return Promise.resolve();
  }

  canAcquireNow(): boolean {
    return this.options.hosts.canConnectNow();
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    return new PgConnection(await this.options.hosts.connect(), this.#names, this.options.statementTimeoutMs);
  }

  override releaseConnection(connection: DatabaseConnection): Promise<void> {
    if (connection instanceof PgConnection) connection.release();
    return Promise.resolve();
  }

  override async destroy(): Promise<void> {
    await this.options.hosts.end();
  }
}

/** Kysely's PostgreSQL dialect over a node-postgres pool, which never reuses a connection that failed. */
export class PgDialect implements Dialect {
  constructor(private readonly options: PgDriverOptions) {}

  createAdapter() {
    return new PostgresAdapter();
  }

  createDriver() {
    return new PgDriver(this.options);
  }

  createIntrospector(db: Parameters<Dialect['createIntrospector']>[0]) {
    return new PostgresIntrospector(db);
  }

  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }
}
