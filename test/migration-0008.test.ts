import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/database.ts';
import { sqlState } from '../src/db/driver-errors.ts';
import { migrate } from '../src/db/migrations.ts';
import type { DB } from '../src/db/schema.ts';
import { openUnmigratedDatabase } from './support/harness.ts';

// A database that has never been migrated, so this file can stop at 0007 and seed what the old
// code wrote: title_key = lower-case + NFC of the title, email = trimmed + lower-case.
let database: Database;
let unmigrated: Awaited<ReturnType<typeof openUnmigratedDatabase>>;
beforeAll(async () => {
  unmigrated = await openUnmigratedDatabase();
  database = unmigrated.database;
});
afterAll(() => unmigrated.close());

const oldTitleKey = (title: string) => title.toLowerCase().normalize('NFC');
const at = (second: number) => new Date(Date.UTC(2020, 0, 1, 0, 0, second));
const BULK = 1203;

async function seedUser(db: Kysely<DB>, username: string, email: string | null, second: number): Promise<string> {
  const row = await db
    .insertInto('users')
    .values({ username, email, nickname: username, password_hash: null, created_at: at(second), updated_at: at(second) })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

async function seedProject(db: Kysely<DB>, ownerId: string, title: string, second: number, deleted = false): Promise<string> {
  const row = await db
    .insertInto('projects')
    .values({
      owner_id: ownerId,
      title,
      title_key: oldTitleKey(title),
      created_at: at(second),
      updated_at: at(second),
      deleted_at: deleted ? at(second + 1) : null,
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

describe('migration 0008: canonical keys recomputed for stored rows', () => {
  it('recomputes every title key and email, renames later live look-alikes, leaves colliding emails as stored', async () => {
    const db = database.db;
    const applied = await migrate(db, '0007_idempotency_outcomes_only');
    expect(applied.at(-1)).toBe('0007_idempotency_outcomes_only');

    const alice = await seedUser(db, 'alice', 'alice@example.com', 0);
    const twin = await seedUser(db, 'alice2', 'ａｌｉｃｅ@example.com', 1);
    const bob = await seedUser(db, 'bob', 'bob@ｅｘａｍｐｌｅ.com', 2);
    const carol = await seedUser(db, 'carol', 'carol@bücher.example', 3);
    const dave = await seedUser(db, 'dave', 'dave@example.com', 4);
    const eve = await seedUser(db, 'eve', 'eve@xn--zz.example', 5);
    const nobody = await seedUser(db, 'nobody', null, 6);
    const mixed = await seedUser(db, 'mallory', 'mallory@ex\u0430mple.com', 7);

    const p = {
      alpha: await seedProject(db, alice, 'Alpha', 10),
      zwsp: await seedProject(db, alice, 'Al\u200bpha', 11),
      shy: await seedProject(db, alice, 'ALPHA\u00ad', 12),
      deleted: await seedProject(db, alice, 'Alpha\u2060', 13, true),
      beta: await seedProject(db, alice, 'Ｂｅｔａ', 14),
      gamma: await seedProject(db, alice, 'Gamma', 15),
      other: await seedProject(db, twin, 'Al\u200dpha', 16),
      taken: await seedProject(db, bob, 'X (2)', 17),
      x: await seedProject(db, bob, 'X', 18),
      xTwin: await seedProject(db, bob, 'x\ufe0f', 19),
    };
    // More rows than one batch, all created in the same instant: the batches page on (created_at, id).
    await sql`
      insert into projects (owner_id, title, title_key, created_at, updated_at)
      select ${dave}, 'Ｐ' || i, 'ｐ' || i, ${at(30)}, ${at(30)} from generate_series(1, ${BULK}) as i`.execute(db);

    expect(await migrate(db, '0008_unicode_canonical_keys')).toEqual(['0008_unicode_canonical_keys']);

    const projects = await db
      .selectFrom('projects')
      .select(['id', 'title', 'title_key', 'version', 'updated_at', 'deleted_at'])
      .where('owner_id', '!=', dave)
      .orderBy('created_at')
      .execute();
    const row = (id: string) => {
      const found = projects.find((r) => r.id === id)!;
      return {
        title: found.title,
        key: found.title_key,
        version: found.version,
        renamed: found.updated_at > at(60),
        live: !found.deleted_at,
      };
    };
    expect(projects).toHaveLength(Object.keys(p).length);
    expect(row(p.alpha)).toEqual({ title: 'Alpha', key: 'alpha', version: 1, renamed: false, live: true });
    expect(row(p.zwsp)).toEqual({ title: 'Al\u200bpha (2)', key: 'alpha (2)', version: 2, renamed: true, live: true });
    expect(row(p.shy)).toEqual({ title: 'ALPHA\u00ad (3)', key: 'alpha (3)', version: 2, renamed: true, live: true });
    expect(row(p.deleted)).toEqual({ title: 'Alpha\u2060', key: 'alpha', version: 1, renamed: false, live: false });
    expect(row(p.beta)).toEqual({ title: 'Ｂｅｔａ', key: 'beta', version: 1, renamed: false, live: true });
    expect(row(p.gamma)).toEqual({ title: 'Gamma', key: 'gamma', version: 1, renamed: false, live: true });
    expect(row(p.other)).toEqual({ title: 'Al\u200dpha', key: 'alpha', version: 1, renamed: false, live: true });
    expect(row(p.taken)).toEqual({ title: 'X (2)', key: 'x (2)', version: 1, renamed: false, live: true });
    expect(row(p.x)).toEqual({ title: 'X', key: 'x', version: 1, renamed: false, live: true });
    expect(row(p.xTwin)).toEqual({ title: 'x\ufe0f (3)', key: 'x (3)', version: 2, renamed: true, live: true });

    const bulk = await sql<{ rewritten: number; total: number }>`
      select count(*) filter (where title_key = 'p' || substr(title, 2))::int as rewritten, count(*)::int as total
      from projects where owner_id = ${dave}`.execute(db);
    expect(bulk.rows).toEqual([{ rewritten: BULK, total: BULK }]);

    const users = await db.selectFrom('users').select(['id', 'email']).orderBy('created_at').execute();
    expect(users).toEqual([
      { id: alice, email: 'alice@example.com' },
      { id: twin, email: 'ａｌｉｃｅ@example.com' },
      { id: bob, email: 'bob@example.com' },
      { id: carol, email: 'carol@xn--bcher-kva.example' },
      { id: dave, email: 'dave@example.com' },
      { id: eve, email: 'eve@xn--zz.example' },
      { id: nobody, email: null },
      { id: mixed, email: 'mallory@xn--exmple-4nf.com' },
    ]);

    // The live look-alikes are one title from now on: the index refuses a second "alpha".
    const refused = await db
      .insertInto('projects')
      .values({ owner_id: alice, title: 'alpha', title_key: 'alpha' })
      .execute()
      .catch((err: unknown) => err);
    expect(sqlState(refused)).toBe('23505');
  });
});
