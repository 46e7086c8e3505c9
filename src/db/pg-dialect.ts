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
import type pg from 'pg';
import { isConnectionFatal } from './driver-errors.ts';

class PgConnection implements DatabaseConnection {
  #lost: Error | undefined;

  // The pool listens for errors only on idle clients. A checked-out client whose socket dies
  // between queries emits 'error' with nobody listening, which would end the process.
  readonly #onError = (err: Error) => {
    this.#lost = err;
  };

  constructor(private readonly client: pg.PoolClient) {
    client.on('error', this.#onError);
  }

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    try {
      const { command, rowCount, rows } = await this.client.query<R & pg.QueryResultRow>(query.sql, [...query.parameters]);
      const writes = command === 'INSERT' || command === 'UPDATE' || command === 'DELETE' || command === 'MERGE';
      return { rows, ...(writes && { numAffectedRows: BigInt(rowCount ?? 0) }) };
    } catch (err) {
      if (isConnectionFatal(err)) this.#lost = err as Error;
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

// Kysely's own driver releases a client with `release()` even after its backend died: the FATAL
// message can arrive before the socket closes, so the pool would hand the dead client to the next
// query. This driver keeps Kysely's transaction and savepoint SQL and replaces only how
// connections are acquired and released.
class PgDriver extends PostgresDriver {
  constructor(private readonly pool: pg.Pool) {
    super({ pool });
  }

  override async acquireConnection(): Promise<DatabaseConnection> {
    return new PgConnection(await this.pool.connect());
  }

  override releaseConnection(connection: DatabaseConnection): Promise<void> {
    if (connection instanceof PgConnection) connection.release();
    return Promise.resolve();
  }

  override async destroy(): Promise<void> {
    await this.pool.end();
  }
}

/** Kysely's PostgreSQL dialect over a node-postgres pool, which never reuses a connection that failed. */
export class PgDialect implements Dialect {
  constructor(private readonly pool: pg.Pool) {}

  createAdapter() {
    return new PostgresAdapter();
  }

  createDriver() {
    return new PgDriver(this.pool);
  }

  createIntrospector(db: Parameters<Dialect['createIntrospector']>[0]) {
    return new PostgresIntrospector(db);
  }

  createQueryCompiler() {
    return new PostgresQueryCompiler();
  }
}
