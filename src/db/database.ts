import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import type { PGlite } from '@electric-sql/pglite';
import { Kysely, type Dialect, type LogEvent } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import type { Logger } from 'pino';
import type { Config } from '../config.ts';
import { HostPools } from './host-pools.ts';
import { PgDialect } from './pg-dialect.ts';
import { extractTemplate, findTemplate, templateMemoryFs } from './pglite-template.ts';
import { ResilientDialect } from './resilient-dialect.ts';
import type { DB } from './schema.ts';

/**
 * The embedded PostgreSQL's buffer cache. Its default, 128 MB, is touched when it starts: about
 * 130 MB more RSS and a slower start on every restart. This service's working set on one machine
 * fits in far less, and what does not is one read away in the OS page cache. In memory the files
 * are themselves in RAM, so a cache only holds a second copy of them and a miss is a memory copy.
 */
const PGLITE_SHARED_BUFFERS = { onDisk: '32MB', inMemory: '16MB' };

/**
 * V8 compiles PGlite's 10 MB of WebAssembly lazily, then recompiles its hot functions with its
 * optimising compiler on up to 128 background tasks. Each worker thread that takes one keeps its
 * own malloc arena, which stays resident once the work is done: about 40 MB more idle RSS after a
 * first start, and on two cores those threads also take CPU from the start itself. One task does
 * the same work in order. Set before PGlite compiles its module, the only WebAssembly here.
 */
const PGLITE_WASM_COMPILATION_TASKS = 1;

/** A process's database connections right now; what it cannot know of (PGlite's queue) is left out. */
export interface PoolStats {
  /** Open connections. */
  total: number;
  idle?: number;
  /** Queries waiting for a connection. */
  waiting?: number;
}

/** An open database: the Kysely handle, its connections' state and how to close it. */
export type Database = {
  db: Kysely<DB>;
  pool: () => PoolStats;
  close(): Promise<void>;
} & ({ kind: 'pglite'; pglite: PGlite } | { kind: 'postgres' });

export interface CreateDbOptions {
  /** PostgreSQL pool size (default 10). */
  max?: number;
  /** The bound on every statement, kept by the client (default 5 000 ms; see statement-bound.ts). */
  statementTimeoutMs?: number;
  /** Name statements, so each connection plans them once (default false: unnamed, safe behind any pooler). */
  preparedStatements?: boolean;
  /** How long a query may wait for a free connection before it fails (default 5 000 ms). */
  acquireTimeoutMs?: number;
  /** Start an embedded database from a `dumpDataDir()` tarball instead of its data directory. */
  loadDataDir?: Blob;
  /**
   * Called before a new embedded database is made (a data directory without one, or in memory):
   * `dir` is undefined in memory; `from` says whether it is copied from the template or made by
   * initdb (seconds, see pglite-template.ts).
   */
  onCreate?: (created: { dir?: string; from: 'template' | 'initdb' }) => void;
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
 * The database the configuration names, with its pool size, statement bound and statement naming; a failed idle
 * connection is logged and replaced. What both entry points (Node server, Lambda) open; `hooks.log` is
 * left unset (no per-query work) unless the entry point traces statements.
 */
export function openConfiguredDb(config: Config, logger: Logger, hooks: Pick<CreateDbOptions, 'log'> = {}): Promise<Database> {
  return createDb(config.databaseUrl, {
    ...hooks,
    max: config.dbPoolMax,
    statementTimeoutMs: config.dbStatementTimeoutMs,
    preparedStatements: config.dbPreparedStatements,
    onIdleError: (err) => {
      logger.warn({ err }, 'an idle database connection failed; it will be replaced');
    },
    // A first start is otherwise silent until `listening`, and with initdb that takes seconds.
    onCreate: ({ dir, from }) => {
      logger.info(
        { from },
        dir === undefined ? 'creating the embedded database in memory' : `creating the embedded database in ${dir} (first start only)`,
      );
    },
  });
}

/** One Kysely `log` for every listener given (metrics, traces); none without one, so no per-query work then. */
export function queryHooks(...listeners: (((event: LogEvent) => void) | undefined)[]): Pick<CreateDbOptions, 'log'> {
  const set = listeners.filter((listener) => listener !== undefined);
  if (set.length <= 1) return set[0] ? { log: set[0] } : {};
  return {
    log: (event) => {
      for (const listener of set) listener(event);
    },
  };
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
    setFlagsFromString(`--wasm-num-compilation-tasks=${PGLITE_WASM_COMPILATION_TASKS}`);
    const { PGlite, MemoryFS } = await import('@electric-sql/pglite');
    const isNew = !options.loadDataDir && (inMemory || !existsSync(join(location, 'PG_VERSION')));
    const template = isNew ? findTemplate() : undefined;
    if (isNew) options.onCreate?.({ ...(!inMemory && { dir: location }), from: template ? 'template' : 'initdb' });
    if (template && !inMemory) extractTemplate(template, location);
    const pglite = new PGlite({
      ...(inMemory ? template && { fs: templateMemoryFs(MemoryFS, template) } : { dataDir: location }),
      ...(options.loadDataDir && { loadDataDir: options.loadDataDir }),
      startParams: [...PGlite.defaultStartParams, '-c', `shared_buffers=${PGLITE_SHARED_BUFFERS[inMemory ? 'inMemory' : 'onDisk']}`],
    });
    await pglite.waitReady;
    // The dialect serialises connections: PGlite has exactly one, so requests queue for it.
    const db = kysely(new PGliteDialect(pglite));
    // One connection, always open.
    return { db, kind: 'pglite', pglite, pool: () => ({ total: 1 }), close: () => db.destroy() };
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    const statementTimeoutMs = options.statementTimeoutMs ?? 5_000;
    const hosts = new HostPools(url, {
      max: options.max ?? 10,
      acquireTimeoutMs,
      statementTimeoutMs,
      ...(options.onIdleError && { onIdleError: options.onIdleError }),
    });
    const db = kysely(new PgDialect({ hosts, statementTimeoutMs, preparedStatements: options.preparedStatements ?? false }));
    return { db, kind: 'postgres', pool: () => hosts.stats(), close: () => db.destroy() };
  }
  throw new Error(`Unsupported database URL: ${redactUrl(url)}`);
}
