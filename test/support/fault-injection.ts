import {
  CompiledQuery,
  Kysely,
  type DatabaseConnection,
  type DatabaseIntrospector,
  type Dialect,
  type DialectAdapter,
  type Driver,
  type QueryCompiler,
  type QueryResult,
  type TransactionSettings,
} from 'kysely';
import type pg from 'pg';
import { HostPools } from '../../src/db/host-pools.ts';
import { PgDialect } from '../../src/db/pg-dialect.ts';
import { ResilientDialect } from '../../src/db/resilient-dialect.ts';
import type { DB } from '../../src/db/schema.ts';
import { connectClient } from './pg-client.ts';

/**
 * Where a fault strikes: the `at`-th counted statement's backend is killed just before the
 * statement is sent (`before`), or just after the server executed it and before its reply reaches
 * the app (`after`: for a COMMIT, the transaction is committed but the app never learns it).
 * `sticky` models a process that died there: every later statement fails the same way, so no
 * clean-up reaches the database either.
 */
export interface FaultPlan {
  at: number;
  when: 'before' | 'after';
  sticky: boolean;
}

/**
 * A PostgreSQL pool whose connections can be killed at a chosen statement. Counting and faults are
 * off until `arm`; `skip` leaves statements out of the count (e.g. the session lookup, which the
 * session cache may or may not save).
 */
export class FaultInjector {
  plan: FaultPlan | undefined;
  counted: string[] = [];
  private fired = false;

  constructor(
    private readonly admin: pg.Client,
    private readonly skip: (sql: string) => boolean = () => false,
  ) {}

  arm(plan?: FaultPlan): void {
    this.plan = plan;
    this.counted = [];
    this.fired = false;
  }

  /** Stops counting and faulting. */
  disarm(): void {
    this.plan = undefined;
    this.fired = false;
  }

  /** Whether a statement about to run should be struck, and how. */
  strike(sql: string): 'before' | 'after' | undefined {
    if (this.skip(sql)) return undefined;
    this.counted.push(sql);
    const plan = this.plan;
    if (!plan) return undefined;
    if (this.fired && plan.sticky) return 'before';
    if (this.counted.length !== plan.at) return undefined;
    this.fired = true;
    return plan.when;
  }

  /** Kills a backend and waits until it is gone, so the connection's next use fails. */
  async kill(pid: number): Promise<void> {
    await this.admin.query('select pg_terminate_backend($1::int)', [pid]);
    for (;;) {
      const { rows } = await this.admin.query('select 1 from pg_stat_activity where pid = $1', [pid]);
      if (rows.length === 0) return;
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

class FaultConnection implements DatabaseConnection {
  constructor(
    readonly inner: DatabaseConnection,
    readonly pid: number,
    private readonly injector: FaultInjector,
  ) {}

  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const fault = this.injector.strike(query.sql);
    if (fault === 'before') await this.injector.kill(this.pid);
    const result = await this.inner.executeQuery<R>(query);
    if (fault !== 'after') return result;
    await this.injector.kill(this.pid);
    // The reply is dropped; what the app sees is the connection failing, as it would.
    await this.inner.executeQuery(CompiledQuery.raw('select 1'));
    throw new Error('unreachable: the killed connection answered');
  }

  streamQuery<R>(query: CompiledQuery, chunkSize?: number): AsyncIterableIterator<QueryResult<R>> {
    return this.inner.streamQuery<R>(query, chunkSize);
  }
}

function unwrap(connection: DatabaseConnection): FaultConnection {
  if (!(connection instanceof FaultConnection)) throw new TypeError('not a fault connection');
  return connection;
}

class FaultDriver implements Driver {
  constructor(
    private readonly inner: Driver,
    private readonly injector: FaultInjector,
  ) {}

  init(): Promise<void> {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const connection = await this.inner.acquireConnection();
    const { rows } = await connection.executeQuery<{ pid: number }>(CompiledQuery.raw('select pg_backend_pid() as pid'));
    return new FaultConnection(connection, rows[0]?.pid ?? 0, this.injector);
  }

  // Kysely's PostgreSQL driver sends BEGIN / COMMIT / ROLLBACK through the connection it is given,
  // so they are counted and struck like any statement.
  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return this.inner.beginTransaction(connection, settings);
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.commitTransaction(connection);
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.rollbackTransaction(connection);
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection(unwrap(connection).inner);
  }

  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}

class FaultDialect implements Dialect {
  constructor(
    private readonly inner: Dialect,
    private readonly injector: FaultInjector,
  ) {}

  createAdapter(): DialectAdapter {
    return this.inner.createAdapter();
  }

  createDriver(): Driver {
    return new FaultDriver(this.inner.createDriver(), this.injector);
  }

  createIntrospector(db: Parameters<Dialect['createIntrospector']>[0]): DatabaseIntrospector {
    return this.inner.createIntrospector(db);
  }

  createQueryCompiler(): QueryCompiler {
    return this.inner.createQueryCompiler();
  }
}

/** The app's database stack (pool, resilience wrapper) on `url`, with faults injected under it. */
export async function openFaultyDb(url: string, skip?: (sql: string) => boolean) {
  const admin = await connectClient(url);
  const injector = new FaultInjector(admin, skip);
  const hosts = new HostPools(url, { max: 4, acquireTimeoutMs: 5_000, statementTimeoutMs: 5_000, onIdleError: () => undefined });
  const pg = new PgDialect({ hosts, statementTimeoutMs: 5_000, preparedStatements: false });
  const db = new Kysely<DB>({ dialect: new ResilientDialect(new FaultDialect(pg, injector), 5_000) });
  return {
    db,
    injector,
    close: async () => {
      await db.destroy();
      await admin.end();
    },
  };
}
