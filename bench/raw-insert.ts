import pg from 'pg';
import { createDb } from '../src/db/database.ts';
import { migrate } from '../src/db/migrations.ts';
import { loops } from './load.ts';
import type { Sample } from './report.ts';
import { CONNECTIONS } from './settings.ts';

const RAW_INSERT = `insert into projects (owner_id, title, title_key) values ($1, $2, $3)
  on conflict (owner_id, title_key) where deleted_at is null and title_key is not null do nothing returning id`;

/**
 * The database's limit: the raw driver running a one-row INSERT … ON CONFLICT DO NOTHING RETURNING
 * from 32 loops (pgbench-like). On PostgreSQL into the scratch database `postgresDatabase` at
 * `url`; on PGlite (no `postgresDatabase`) into an in-memory one in this process.
 */
export async function rawInserts(url: string, postgresDatabase: string | undefined, ownerId: string, round: number): Promise<Sample> {
  if (postgresDatabase !== undefined) {
    const pool = new pg.Pool({ connectionString: url, max: CONNECTIONS });
    pool.on('error', () => undefined);
    // Connect the whole pool first, so the loop measures statements and not connection set-up.
    await Promise.all(Array.from({ length: CONNECTIONS }, () => pool.query('select 1')));
    try {
      return await loops(postgresDatabase, (i) => pool.query(RAW_INSERT, [ownerId, `raw-${round}-${i}`, `raw-${round}-${i}`]));
    } finally {
      await pool.end();
    }
  }
  const embedded = await createDb('pglite://memory');
  await migrate(embedded.db);
  if (embedded.kind !== 'pglite') throw new Error('expected PGlite');
  const { pglite } = embedded;
  await pglite.query(`insert into users (id, username, email, nickname, password_hash) values ($1, 'raw', 'raw@example.com', 'raw', 'x')`, [
    ownerId,
  ]);
  try {
    return await loops(undefined, (i) => pglite.query(RAW_INSERT, [ownerId, `raw-${i}`, `raw-${i}`]));
  } finally {
    await embedded.close();
  }
}
