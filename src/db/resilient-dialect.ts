import {
  PostgresAdapter,
  type CompiledQuery,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import { isConnectionLost } from './driver-errors.ts';
import { isTransient, pauseBeforeRetry, TRANSIENT_ATTEMPTS } from './transaction.ts';

/** Thrown when no connection frees up in time; classified as the database being unavailable. */
export class PoolTimeoutError extends Error {
  readonly code = 'POOL_TIMEOUT';
  constructor(ms: number) {
    super(`No database connection became free within ${ms} ms`);
    this.name = 'PoolTimeoutError';
  }
}

/**
 * A driver failure without a SQLSTATE: the round trip to the server did not complete (socket
 * closed, connect failed or timed out). Classified as the database being unavailable.
 */
export class ConnectionLostError extends Error {
  readonly code = 'CONNECTION_LOST';
  constructor(cause: unknown) {
    super('The database connection failed', { cause });
    this.name = 'ConnectionLostError';
  }
}

function asConnectionError(err: unknown): unknown {
  return isConnectionLost(err) && !(err instanceof PoolTimeoutError) ? new ConnectionLostError(err) : err;
}

// BEGIN, COMMIT and ROLLBACK are sent by the inner driver, past ResilientConnection: a connection
// lost there is the database being unavailable like anywhere else.
function rethrowAsConnectionError(err: unknown): never {
  throw asConnectionError(err);
}

class ResilientConnection implements DatabaseConnection {
  inTransaction = false;

  constructor(readonly inner: DatabaseConnection) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.inner.executeQuery<R>(query);
      } catch (err) {
        // Inside a transaction the whole transaction must run again (see `transaction` in transaction.ts).
        if (this.inTransaction || attempt >= TRANSIENT_ATTEMPTS || !isTransient(err)) throw asConnectionError(err);
        await pauseBeforeRetry(attempt);
      }
    }
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

/** A driver that can tell when acquiring a connection will not wait (a pool with an idle one). */
export interface ImmediateAcquire {
  canAcquireNow(): boolean;
}

function canAcquireNow(driver: Driver): boolean {
  return 'canAcquireNow' in driver && (driver as Driver & ImmediateAcquire).canAcquireNow();
}

function unwrap(connection: DatabaseConnection): ResilientConnection {
  if (!(connection instanceof ResilientConnection)) throw new TypeError('Not a connection of this driver');
  return connection;
}

class ResilientDriver implements Driver {
  constructor(
    private readonly inner: Driver,
    private readonly acquireTimeoutMs: number,
  ) {}

  init(): Promise<void> {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    // Most acquisitions find an idle connection: no timer and race for those.
    if (canAcquireNow(this.inner)) {
      try {
        return new ResilientConnection(await this.inner.acquireConnection());
      } catch (err) {
        throw asConnectionError(err);
      }
    }
    const acquiring = this.inner.acquireConnection();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new PoolTimeoutError(this.acquireTimeoutMs));
      }, this.acquireTimeoutMs);
    });
    try {
      return new ResilientConnection(await Promise.race([acquiring, timeout]));
    } catch (err) {
      // The connection may still arrive after we gave up: hand it straight back to the pool.
      acquiring.then((late) => this.inner.releaseConnection(late)).catch(() => undefined);
      throw asConnectionError(err);
    } finally {
      clearTimeout(timer);
    }
  }

  async beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    const c = unwrap(connection);
    await this.inner.beginTransaction(c.inner, settings).catch(rethrowAsConnectionError);
    c.inTransaction = true;
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    const c = unwrap(connection);
    c.inTransaction = false;
    await this.inner.commitTransaction(c.inner).catch(rethrowAsConnectionError);
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    const c = unwrap(connection);
    c.inTransaction = false;
    await this.inner.rollbackTransaction(c.inner).catch(rethrowAsConnectionError);
  }

  async savepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    await this.inner.savepoint?.(unwrap(connection).inner, name, compile);
  }

  async rollbackToSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    await this.inner.rollbackToSavepoint?.(unwrap(connection).inner, name, compile);
  }

  async releaseSavepoint(connection: DatabaseConnection, name: string, compile: QueryCompiler['compileQuery']): Promise<void> {
    await this.inner.releaseSavepoint?.(unwrap(connection).inner, name, compile);
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection(unwrap(connection).inner);
  }

  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}

/**
 * PostgreSQL's adapter (both dialects speak PostgreSQL) without the migrator's session-level
 * advisory lock: `migrate()` runs the migrator inside a transaction that holds a transaction
 * lock, which a pooler cannot split from its work (src/db/migrations.ts). Kysely's unlock would also
 * run after a failed migration, in the aborted transaction, and hide the migration's own error.
 */
class MigrationLockFreeAdapter extends PostgresAdapter {
  override acquireMigrationLock(): Promise<void> {
    return Promise.resolve();
  }

  override releaseMigrationLock(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * Wraps a dialect so that waiting for a pooled connection is bounded (a busy pool becomes a 503,
 * not a hang), and a single statement refused with 40001 / 40P01 outside a transaction is retried
 * a bounded number of times.
 */
export class ResilientDialect implements Dialect {
  constructor(
    private readonly inner: Dialect,
    /** How long a query may wait for a pooled connection before it fails with PoolTimeoutError. */
    private readonly acquireTimeoutMs: number,
  ) {}

  createAdapter(): DialectAdapter {
    return new MigrationLockFreeAdapter();
  }

  createDriver(): Driver {
    return new ResilientDriver(this.inner.createDriver(), this.acquireTimeoutMs);
  }

  createIntrospector(db: Parameters<Dialect['createIntrospector']>[0]): DatabaseIntrospector {
    return this.inner.createIntrospector(db);
  }

  createQueryCompiler(): QueryCompiler {
    return this.inner.createQueryCompiler();
  }
}
