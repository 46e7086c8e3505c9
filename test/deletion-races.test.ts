import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FOREIGN_KEYS } from '../src/http/foreign-keys.ts';
import { startTestApp, type TestApp } from './support/harness.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

/** An account deleted behind the app's back, as another instance or an operator would. */
async function deleteBehindTheApp(userId: string): Promise<void> {
  await t.db.deleteFrom('users').where('id', '=', userId).execute();
}

describe('an account deleted under a request', () => {
  it.each([
    ['without', {}],
    ['with', { 'idempotency-key': 'deleted-owner' }],
  ])('a project create %s an Idempotency-Key whose owner is gone is a 401, not a 500', async (_name, headers) => {
    const { user, token } = await t.newUser();
    // The session is now cached by this instance: the next request believes it without a query.
    expect((await t.request('GET', '/api/users/me', { token })).status).toBe(200);
    await deleteBehindTheApp(user.id);
    const seen = t.testDb.queries.length;
    const res = await t.request('POST', '/api/projects', { token, json: { title: 'Orphan' }, headers });
    // The race happened: the app got as far as the INSERT, which the owner foreign key refused.
    expect(t.testDb.queries.slice(seen).some((q) => q.includes('insert into projects'))).toBe(true);
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ status: 'Failed', code: 'UNAUTHENTICATED', message: '[Unauthorized] 로그인이 필요합니다.' });
    expect(await t.db.selectFrom('projects').select('id').where('owner_id', '=', user.id).execute()).toEqual([]);
    expect(t.logs.filter((line) => line.level === 50)).toEqual([]);
  });

  it('a login whose user is deleted between the password check and the new session is a 401', async () => {
    const { user, password } = await t.signUp();
    // The deletion lands exactly between the two: the session insert itself deletes the user first.
    await sql`
      create function delete_user_first() returns trigger language plpgsql as $$
      begin delete from users where id = new.user_id; return new; end $$`.execute(t.db);
    await sql`create trigger delete_user_first before insert on sessions for each row execute function delete_user_first()`.execute(t.db);
    try {
      const res = await t.request('POST', '/api/sessions', { json: { login: user.username, password } });
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ code: 'INVALID_CREDENTIALS', message: '[Unauthorized] 아이디 또는 비밀번호가 올바르지 않습니다.' });
    } finally {
      await sql`drop trigger delete_user_first on sessions`.execute(t.db);
      await sql`drop function delete_user_first()`.execute(t.db);
    }
    expect(await t.db.selectFrom('sessions').select('token_hash').where('user_id', '=', user.id).execute()).toEqual([]);
    expect(t.logs.filter((line) => line.level === 50)).toEqual([]);
  });
});

describe('the integrity errors the schema can raise', () => {
  it('every foreign key has its 4xx in the table, and there are no CHECK constraints to race', async () => {
    const { rows } = await sql<{ name: string; type: string }>`
      select conname as name, contype as type from pg_constraint c join pg_namespace n on n.oid = c.connamespace
      where n.nspname = 'public' and contype in ('f', 'c') order by conname`.execute(t.db);
    expect(rows.filter((r) => r.type === 'c')).toEqual([]);
    expect(rows.map((r) => r.name)).toEqual(Object.keys(FOREIGN_KEYS).sort());
  });
});
