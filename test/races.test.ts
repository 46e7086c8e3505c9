import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onCitus, startTestApp, uniqueName, type TestApp, type TestResponse } from './support/harness.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const N = 50;

function tally(results: TestResponse[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
  return counts;
}

describe(`${N} requests at once for one unique value`, () => {
  it('signups of one username in mixed case: one 201, the rest 409, one row', async () => {
    const name = uniqueName('race');
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        t.request('POST', '/api/users', {
          json: {
            username: i % 2 ? name.toUpperCase() : ` ${name} `,
            password: 'password-123',
            nickname: 'r',
            email: `${name}-${i}@example.com`,
          },
        }),
      ),
    );
    expect(tally(results)).toEqual({ 201: 1, 409: N - 1 });
    for (const r of results.filter((x) => x.status === 409))
      expect(r.body).toMatchObject({ code: 'DUPLICATE_RESOURCE', field: 'username' });
    expect(await t.db.selectFrom('users').select('id').where('username', '=', name.toLowerCase()).execute()).toHaveLength(1);
  });

  it('project creates of one title: one 201, the rest 409 pointing at it, one live row', async () => {
    const { user, token } = await t.newUser();
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) =>
        t.request('POST', '/api/projects', { token, json: { title: i % 3 ? 'Contested' : 'CONTESTED ' } }),
      ),
    );
    expect(tally(results)).toEqual({ 201: 1, 409: N - 1 });
    const winner = results.find((r) => r.status === 201)!.body.data.id;
    for (const r of results.filter((x) => x.status === 409))
      expect(r.body.conflict).toEqual({ id: winner, location: `/api/projects/${winner}` });
    const live = await t.db.selectFrom('projects').select('id').where('owner_id', '=', user.id).where('deleted_at', 'is', null).execute();
    expect(live).toEqual([{ id: winner }]);
  });

  it('renames of different projects onto one title: one 200, the rest 409', async () => {
    const { user, token } = await t.newUser();
    const ids: string[] = [];
    for (let i = 0; i < N; i++) ids.push((await t.createProject(token, `Source ${i}`)).id);
    const results = await Promise.all(ids.map((id) => t.request('PATCH', `/api/projects/${id}`, { token, json: { title: 'Target' } })));
    expect(tally(results)).toEqual({ 200: 1, 409: N - 1 });
    const named = await t.db
      .selectFrom('projects')
      .select('id')
      .where('owner_id', '=', user.id)
      .where('title_key', '=', 'target')
      .execute();
    expect(named).toHaveLength(1);
  });

  it('restores of two deleted projects that share a title: exactly one live afterwards', async () => {
    const { user, token } = await t.newUser();
    const first = await t.createProject(token, 'Twin');
    await t.request('DELETE', `/api/projects/${first.id}`, { token });
    const second = await t.createProject(token, 'twin');
    await t.request('DELETE', `/api/projects/${second.id}`, { token });
    const results = await Promise.all(
      Array.from({ length: N }, (_, i) => t.request('POST', `/api/projects/${i % 2 ? first.id : second.id}/restore`, { token })),
    );
    const counts = tally(results);
    expect(Object.keys(counts).sort()).toEqual(['200', '409']);
    const live = await t.db.selectFrom('projects').select('id').where('owner_id', '=', user.id).where('deleted_at', 'is', null).execute();
    expect(live).toHaveLength(1);
    const winner = live[0]!.id;
    for (const r of results) {
      if (r.status === 200) expect(r.body.data.id).toBe(winner);
      else expect(r.body).toMatchObject({ code: 'DUPLICATE_RESOURCE', conflict: { id: winner } });
    }
  });
});

describe('optimistic concurrency', () => {
  it('ten PATCHes carrying one If-Match: one 200, nine 412', async () => {
    const { token } = await t.newUser();
    const p = await t.createProject(token, 'Versioned');
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        t.request('PATCH', `/api/projects/${p.id}`, { token, json: { description: `writer ${i}` }, headers: { 'if-match': '"1"' } }),
      ),
    );
    expect(tally(results)).toEqual({ 200: 1, 412: 9 });
    const row = await t.db.selectFrom('projects').select(['version', 'description']).where('id', '=', p.id).executeTakeFirstOrThrow();
    expect(row.version).toBe(2);
    expect(row.description).toBe(results.find((r) => r.status === 200)!.body.data.description);
  });
});

// The faults are injected by triggers, which Citus refuses on distributed tables.
describe.skipIf(onCitus())('serialization failures and deadlocks (40001, 40P01)', () => {
  async function failInserts(times: number, sqlstate: string): Promise<() => Promise<void>> {
    await sql`create sequence injected_failures`.execute(t.db);
    await sql
      .raw(
        `create function injected_failure() returns trigger language plpgsql as $$
         begin
           if nextval('injected_failures') <= ${times} then
             raise exception 'injected' using errcode = '${sqlstate}';
           end if;
           return new;
         end $$`,
      )
      .execute(t.db);
    await sql`create trigger injected_failure before insert or update on projects for each row execute function injected_failure()`.execute(
      t.db,
    );
    await sql`create trigger injected_failure before update on users for each row execute function injected_failure()`.execute(t.db);
    return async () => {
      await sql`drop trigger injected_failure on projects`.execute(t.db);
      await sql`drop trigger injected_failure on users`.execute(t.db);
      await sql`drop function injected_failure()`.execute(t.db);
      await sql`drop sequence injected_failures`.execute(t.db);
    };
  }

  it('a deadlock victim is retried: two deadlocks, then the create succeeds', async () => {
    const { user, token } = await t.newUser();
    const restore = await failInserts(2, '40P01');
    try {
      const res = await t.request('POST', '/api/projects', { token, json: { title: 'Retried' } });
      expect(res.status).toBe(201);
    } finally {
      await restore();
    }
    expect(await t.db.selectFrom('projects').select('id').where('owner_id', '=', user.id).execute()).toHaveLength(1);
  });

  it('retries are bounded: after three serialization failures the answer is 503, nothing written', async () => {
    const { user, token } = await t.newUser();
    const restore = await failInserts(3, '40001');
    try {
      const res = await t.request('POST', '/api/projects', { token, json: { title: 'Given up' } });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('2');
      expect(res.body.code).toBe('SERVICE_UNAVAILABLE');
    } finally {
      await restore();
    }
    expect(await t.db.selectFrom('projects').select('id').where('owner_id', '=', user.id).execute()).toHaveLength(0);
  });

  it('a transaction refused with 40001 runs again as a whole', async () => {
    const { user, password, token } = await t.newUser();
    const restore = await failInserts(1, '40001');
    try {
      const res = await t.request('PATCH', `/api/users/${user.id}`, {
        token,
        json: { password: 'rotated-pass-1', currentPassword: password },
      });
      expect(res.status).toBe(200);
    } finally {
      await restore();
    }
    await t.logIn(user.username, 'rotated-pass-1');
  });
});
