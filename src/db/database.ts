import { mkdirSync } from 'node:fs';
import type { PGlite } from '@electric-sql/pglite';
import { Kysely, type Dialect, type LogEvent } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { PgDialect } from './pg-dialect.ts';
import { ResilientDialect } from './resilient-dialect.ts';
import type { DB } from './schema.ts';

/**
 * The embedded PostgreSQL's buffer cache. Its default, 128 MB, is touched when it starts: about
 * 130 MB more RSS and a slower start on every restart. This service's working set on one machine
 * fits in far less, and what does not is one read away in the OS page cache.
 */
const PGLITE_SHARED_BUFFERS = '32MB';

/** An open database: the Kysely handle and how to close it. */
export type Database = {
  db: Kysely<DB>;
  close(): Promise<void>;
} & ({ kind: 'pglite'; pglite: PGlite } | { kind: 'postgres' });

export interface CreateDbOptions {
  /** PostgreSQL pool size (default 10). */
  max?: number;
  /** PostgreSQL `statement_timeout` for every session of the pool (default 10 000 ms). */
  statementTimeoutMs?: number;
  /** How long a query may wait for a free connection before it fails (default 5 000 ms). */
  acquireTimeoutMs?: number;
  /** Start an embedded database from a `dumpDataDir()` tarball instead of its data directory. */
  loadDataDir?: Blob;
  /** Called for every query Kysely runs, with its SQL and duration. */
  log?: (event: LogEvent) => void;
  /**
   * Called when an idle pooled connection fails (the server restarted or killed it). The pool
   * drops that connection and opens a new one when needed; without a listener the error would
   * end the process.
   */
  onIdleError?: (err: Error) => void;
}

/**
 * The database the configuration names, with its pool size and statement timeout; a failed idle
 * connection is logged and replaced. What both entry points (Node server, Lambda) open.
 */
export function openConfiguredDb(config: Config, logger: Logger): Promise<Database> {
  return createDb(config.databaseUrl, {
    max: config.dbPoolMax,
    statementTimeoutMs: config.dbStatementTimeoutMs,
    onIdleError: (err) => {
      logger.warn({ err }, 'an idle database connection failed; it will be replaced');
    },
  });
}

/** The connection URL with any password masked, for log lines and error messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

/**
 * Opens `postgres://…` / `postgresql://…` with node-postgres, or an embedded PGlite for
 * `pglite://<dir>` (on disk) and `pglite://memory`. Either way queries wait at most
 * `acquireTimeoutMs` for a connection and a statement refused with 40001 / 40P01 is retried.
 */
export async function createDb(url: string, options: CreateDbOptions = {}): Promise<Database> {
  const acquireTimeoutMs = options.acquireTimeoutMs ?? 5_000;
  const kysely = (dialect: Dialect) =>
    new Kysely<DB>({
      dialect: new ResilientDialect(dialect, acquireTimeoutMs),
      ...(options.log && { log: options.log }),
    });
  if (url.startsWith('pglite://')) {
    const location = url.slice('pglite://'.length);
    const inMemory = location === 'memory' || location === '';
    if (!inMemory) mkdirSync(location, { recursive: true });
    // Loaded only when asked for: a PostgreSQL deployment (a Lambda cold start above all) should
    // not pay for parsing the embedded engine.
    const { PGlite } = await import('@electric-sql/pglite');
    const pglite = new PGlite({
      ...(inMemory ? {} : { dataDir: location }),
      ...(options.loadDataDir && { loadDataDir: options.loadDataDir }),
      startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${PGLITE_SHARED_BUFFERS}`],
    });
    await pglite.waitReady;
    // The dialect serialises connections: PGlite has exactly one, so requests queue for it.
    const db = kysely(new PGliteDialect(pglite));
    return { db, kind: 'pglite', pglite, close: () => db.destroy() };
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    const pool = new pg.Pool({
      connectionString: url,
      max: options.max ?? 10,
      // Past our own acquire limit, so that the wrapper's coded timeout is what callers see.
      connectionTimeoutMillis: acquireTimeoutMs + 1_000,
      idleTimeoutMillis: 60_000,
      application_name: 'projects-api',
      statement_timeout: options.statementTimeoutMs ?? 10_000,
    });
    pool.on('error', (err) => options.onIdleError?.(err));
    // A backend killed just as its connection opens can send its FATAL message in the same read as
    // the connection's first ReadyForQuery: the pool hands the client out (dropping its idle
    // listener) and the error is emitted before the borrower's listener is attached, which would
    // end the process. The borrower still learns of it from the failed query.
    pool.on('connect', (client) => client.on('error', () => undefined));
    const db = kysely(new PgDialect(pool));
    return { db, kind: 'postgres', close: () => db.destroy() };
  }
  throw new Error(`Unsupported database URL: ${redactUrl(url)}`);
}
