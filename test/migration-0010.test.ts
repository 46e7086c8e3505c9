import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/database.ts';
import { migrate } from '../src/db/migrations.ts';
import { hashPassword } from '../src/users/password.ts';
import { openUnmigratedDatabase, testAppOn } from './support/harness.ts';

// Accounts from before 0010 had no way to verify their email; they keep what they hold.
let database: Database;
let unmigrated: Awaited<ReturnType<typeof openUnmigratedDatabase>>;
beforeAll(async () => {
  unmigrated = await openUnmigratedDatabase();
  database = unmigrated.database;
});
afterAll(() => unmigrated.close());

describe('migration 0010: verified emails and held usernames', () => {
  it('counts existing accounts as verified, and holds their names like any other once released', async () => {
    const db = database.db;
    await migrate(db, '0009_distributable_keys');
    const hash = await hashPassword('password-123');
    await sql`
      insert into users (username, email, nickname, password_hash, created_at) values
        ('old1', 'old1@example.com', 'o', ${hash}, now() - interval '400 days'),
        ('old2', 'old2@example.com', 'o', ${hash}, now() - interval '400 days')`.execute(db);
    expect(await migrate(db)).toEqual(['0010_verified_emails_held_usernames']);

    const t = testAppOn(
      { database, url: undefined, directUrl: undefined, queries: [], statements: [], close: () => Promise.resolve() },
      db,
    );
    const token = await t.logIn('old1', 'password-123');
    const me = await t.request('GET', '/api/users/me', { token });
    expect(me.body.data).toMatchObject({ username: 'old1', email: 'old1@example.com', emailVerified: true, pendingEmail: null });
    // A year-old verified address is still a 409.
    const taken = await t.request('POST', '/api/users', {
      json: { username: 'newcomer', email: 'old2@example.com', nickname: 'n', password: 'password-123' },
    });
    expect(taken.status).toBe(409);
    expect(taken.body.field).toBe('email');

    expect((await t.request('DELETE', `/api/users/${me.body.data.id}`, { token })).status).toBe(204);
    const held = await t.request('GET', '/api/users/availability?username=old1');
    expect(held.status).toBe(409);
    expect(held.body.code).toBe('USERNAME_HELD');
    expect(await db.selectFrom('usernames').select(['username']).where('held_until', 'is', null).execute()).toEqual([{ username: 'old2' }]);
  });
});
