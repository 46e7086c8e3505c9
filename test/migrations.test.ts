import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate, pendingMigrations } from '../src/db/migrations.ts';
import type { DB } from '../src/db/schema.ts';
import { UNIQUE_INDEXES } from '../src/db/unique-indexes.ts';
import { openTestDatabase, type TestDatabase } from './support/harness.ts';

let t: TestDatabase;
beforeAll(async () => {
  t = await openTestDatabase();
});
afterAll(() => t.close());

describe('migrations', () => {
  it('are idempotent, also when several run at once', async () => {
    await Promise.all([migrate(t.database.db), migrate(t.database.db), migrate(t.database.db)]);
    const { rows } = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(t.database.db);
    expect(rows.map((r) => r.name)).toEqual([
      '0001_users_sessions_projects',
      '0002_idempotency_keys',
      '0003_rate_limits',
      '0004_projects_live_listing',
      '0005_gateway_identities',
      '0006_projects_live_listing_pg17',
      '0007_idempotency_outcomes_only',
      '0008_unicode_canonical_keys',
      '0009_distributable_keys',
      '0010_verified_emails_held_usernames',
    ]);
  });

  it('pendingMigrations names what a database lacks: nothing when current, the rest when behind, all when never migrated', async () => {
    const db = t.database.db;
    expect(await pendingMigrations(db)).toEqual([]);
    class Rollback extends Error {}
    const inRolledBackTransaction = (work: (trx: Kysely<DB>) => Promise<void>) =>
      expect(
        db.transaction().execute(async (trx) => {
          await work(trx);
          throw new Rollback();
        }),
      ).rejects.toBeInstanceOf(Rollback);

    await inRolledBackTransaction(async (trx) => {
      await sql`delete from kysely_migration where name >= '0004'`.execute(trx);
      expect(await pendingMigrations(trx)).toEqual([
        '0004_projects_live_listing',
        '0005_gateway_identities',
        '0006_projects_live_listing_pg17',
        '0007_idempotency_outcomes_only',
        '0008_unicode_canonical_keys',
        '0009_distributable_keys',
        '0010_verified_emails_held_usernames',
      ]);
    });
    await inRolledBackTransaction(async (trx) => {
      await sql`alter table kysely_migration rename to kysely_migration_hidden`.execute(trx);
      expect(await pendingMigrations(trx)).toHaveLength(10);
    });
    expect(await pendingMigrations(db)).toEqual([]);
  });

  it('create every unique index the index → field table names, partial where soft delete applies', async () => {
    const { rows } = await sql<{ indexname: string; indexdef: string }>`
      select indexname, indexdef from pg_indexes where schemaname = current_schema()`.execute(t.database.db);
    for (const { name } of Object.values(UNIQUE_INDEXES)) {
      const index = rows.find((r) => r.indexname === name);
      expect(index?.indexdef, name).toMatch(/^CREATE UNIQUE INDEX/);
    }
    expect(rows.find((r) => r.indexname === 'projects_owner_title_key')?.indexdef).toMatch(
      /\(owner_id, title_key\) WHERE \(\(deleted_at IS NULL\) AND \(title_key IS NOT NULL\)\)$/,
    );
  });
});
