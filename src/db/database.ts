import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, type LogEvent } from 'kysely';
import { PGliteDialect } from 'kysely-pglite-dialect';
import { PostgresJSDialect } from 'kysely-postgres-js';
import postgres from 'postgres';
import type { DB } from './schema.ts';

/** An open database: the Kysely handle and how to close it. */
export type Database = {
  db: Kysely<DB>;
  close(): Promise<void>;
} & ({ kind: 'pglite'; pglite: PGlite } | { kind: 'postgres' });

export interface CreateDbOptions {
  /** postgres.js pool size. */
  max?: number;
  /** Start an embedded database from a `dumpDataDir()` tarball instead of its data directory. */
  loadDataDir?: Blob;
  /** Called for every query Kysely runs, with its SQL and duration. */
  log?: (event: LogEvent) => void;
}

/** The connection URL with any password masked, for log lines and error messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):[^@]*@/, '//$1:***@');
}

/**
 * Opens `postgres://…` / `postgresql://…` with postgres.js, or an embedded PGlite for
 * `pglite://<dir>` (on disk) and `pglite://memory`.
 */
export async function createDb(url: string, options: CreateDbOptions = {}): Promise<Database> {
  if (url.startsWith('pglite://')) {
    const location = url.slice('pglite://'.length);
    const inMemory = location === 'memory' || location === '';
    if (!inMemory) mkdirSync(location, { recursive: true });
    const pglite = new PGlite({
      ...(inMemory ? {} : { dataDir: location }),
      ...(options.loadDataDir && { loadDataDir: options.loadDataDir }),
    });
    await pglite.waitReady;
    // The dialect serialises connections: PGlite has exactly one, so requests queue for it.
    const db = new Kysely<DB>({ dialect: new PGliteDialect(pglite), ...(options.log && { log: options.log }) });
    return { db, kind: 'pglite', pglite, close: () => db.destroy() };
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    const client = postgres(url, {
      max: options.max ?? 10,
      connect_timeout: 5,
      idle_timeout: 60,
      onnotice: () => undefined,
      connection: { application_name: 'projects-api', statement_timeout: 10_000 },
    });
    const db = new Kysely<DB>({ dialect: new PostgresJSDialect({ postgres: client }), ...(options.log && { log: options.log }) });
    return { db, kind: 'postgres', close: () => db.destroy() };
  }
  throw new Error(`Unsupported database URL: ${redactUrl(url)}`);
}
