import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/database.ts';
import { migrate } from '../src/db/migrations.ts';
import { openUnmigratedDatabase, TEST_CLIENT_IP_HEADER, testAppOn, type TestApp } from './support/harness.ts';

// A database that stops at 0008 and holds what the earlier code wrote: a session token of the
// earlier shape, text key scopes of a user and of an address, a rate-limit counter.
let database: Database;
let unmigrated: Awaited<ReturnType<typeof openUnmigratedDatabase>>;
beforeAll(async () => {
  unmigrated = await openUnmigratedDatabase();
  database = unmigrated.database;
});
afterAll(() => unmigrated.close());

const fingerprint = (method: string, path: string, body: unknown) =>
  createHash('sha256')
    .update(`${method} ${path}\n${JSON.stringify(body)}`)
    .digest('hex');

describe('migration 0009: keys that hold the distribution column', () => {
  it('keeps every session, recorded outcome and counter working', async () => {
    const db = database.db;
    await migrate(db, '0008_unicode_canonical_keys');
    const { rows } = await sql<{ id: string }>`
      insert into users (username, email, nickname, password_hash) values ('kept', 'kept@example.com', 'k', null)
      returning id`.execute(db);
    const userId = rows[0]!.id;
    const oldToken = randomBytes(32).toString('base64url');
    await sql`insert into sessions (token_hash, user_id, expires_at)
      values (${createHash('sha256').update(oldToken).digest('hex')}, ${userId}, now() + interval '1 hour')`.execute(db);
    await sql`insert into projects (owner_id, title, title_key) values (${userId}, 'Before', 'before')`.execute(db);
    const created = { title: 'Kept' };
    const signup = { username: 'later', email: 'later@example.com', nickname: 'l', password: 'password-123' };
    await sql`insert into idempotency_keys (scope, key, fingerprint, response_status, response_headers, response_body) values
      (${`user:${userId}`}, 'k-user', ${fingerprint('POST', '/api/projects', created)}, 201,
        '{"content-type":"application/json"}', '{"data":{"recorded":"user"}}'),
      ('anon:198.51.100.7', 'k-anon', ${fingerprint('POST', '/api/users', signup)}, 201,
        '{"content-type":"application/json"}', '{"data":{"recorded":"anon"}}')`.execute(db);
    await sql`insert into rate_limits (bucket, window_start, hits) values ('signup:198.51.100.7', now() - interval '5 seconds', 2)`.execute(
      db,
    );

    expect(await migrate(db)).toEqual(['0009_distributable_keys', '0010_verified_emails_held_usernames']);

    const t: TestApp = testAppOn(
      { database, url: undefined, directUrl: undefined, queries: [], statements: [], close: () => Promise.resolve() },
      db,
    );
    const me = await t.request('GET', '/api/users/me', { token: oldToken });
    expect(me.status).toBe(200);
    expect(me.body.data).toMatchObject({ id: userId, username: 'kept' });

    const replayed = await t.request('POST', '/api/projects', { token: oldToken, json: created, headers: { 'idempotency-key': 'k-user' } });
    expect(replayed.status).toBe(201);
    expect(replayed.body).toEqual({ data: { recorded: 'user' } });
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    const anon = await t.request('POST', '/api/users', {
      json: signup,
      headers: { 'idempotency-key': 'k-anon', [TEST_CLIENT_IP_HEADER]: '198.51.100.7' },
    });
    expect(anon.status).toBe(201);
    expect(anon.body).toEqual({ data: { recorded: 'anon' } });
    expect(await db.selectFrom('users').select('id').where('username', '=', 'later').execute()).toEqual([]);

    const counters = await db.selectFrom('rate_limits').selectAll().execute();
    expect(counters).toEqual([
      { bucket: 'signup:198.51.100.7', window_start: expect.any(Date), hit_at: counters[0]!.window_start, hits: 2 },
    ]);
    const keys = await db.selectFrom('idempotency_keys').select(['scope_id', 'key']).orderBy('key').execute();
    expect(keys.find((k) => k.key === 'k-user')?.scope_id).toBe(userId);

    const { rows: keysDefs } = await sql<{ table: string; def: string }>`
      select conrelid::regclass::text as table, pg_get_constraintdef(oid) as def from pg_constraint
      where contype = 'p' and conrelid::regclass::text in ('projects', 'sessions', 'idempotency_keys') order by 1`.execute(db);
    expect(keysDefs).toEqual([
      { table: 'idempotency_keys', def: 'PRIMARY KEY (scope_id, key)' },
      { table: 'projects', def: 'PRIMARY KEY (id, owner_id)' },
      { table: 'sessions', def: 'PRIMARY KEY (user_id, token_hash)' },
    ]);
    expect((await t.request('GET', '/api/projects', { token: oldToken })).body.data.map((p: { title: string }) => p.title)).toEqual([
      'Before',
    ]);
  });
});
