import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/harness.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

async function liveRows(ownerId: string) {
  return t.db.selectFrom('projects').selectAll().where('owner_id', '=', ownerId).where('deleted_at', 'is', null).execute();
}

describe('POST /api/projects', () => {
  it('creates a project: 201, Location, ETag "1", the project, and the canonical key in the row', async () => {
    const { user, token } = await t.newUser();
    const res = await t.request('POST', '/api/projects', { token, json: { title: '  Alpha\u0301  ', description: 'first' } });
    expect(res.status).toBe(201);
    const p = res.body.data;
    expect(res.body.status).toBe('Success');
    expect(p).toMatchObject({ title: 'Alph\u00e1', description: 'first', version: 1, deletedAt: null });
    expect(p.id).toMatch(UUID);
    expect(new Date(p.createdAt).toISOString()).toBe(p.createdAt);
    expect(res.headers.get('location')).toBe(`/api/projects/${p.id}`);
    expect(res.headers.get('etag')).toBe('"1"');
    const rows = await liveRows(user.id);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ title: 'Alph\u00e1', title_key: 'alph\u00e1', description: 'first' });
  });

  it('a duplicate title (any case, surrounding spaces) is a 409 pointing at the live project, in Korean', async () => {
    const { user, token } = await t.newUser();
    const first = await t.createProject(token, 'Alpha');
    const res = await t.request('POST', '/api/projects', { token, json: { title: ' ALPHA ' } });
    expect(res.status).toBe(409);
    expect(res.body).toEqual({
      status: 'Failed',
      code: 'DUPLICATE_RESOURCE',
      message: '[Conflict] 동일한 이름의 프로젝트가 이미 존재합니다.',
      field: 'title',
      conflict: { id: first.id, location: `/api/projects/${first.id}` },
      requestId: res.headers.get('x-request-id'),
    });
    expect(await liveRows(user.id)).toHaveLength(1);
  });

  it('says the same in English with Accept-Language: en', async () => {
    const { token } = await t.newUser();
    await t.createProject(token, 'Beta');
    const res = await t.request('POST', '/api/projects', { token, json: { title: 'beta' }, headers: { 'accept-language': 'en' } });
    expect(res.status).toBe(409);
    expect(res.body.message).toBe('[Conflict] A project with the same title already exists.');
  });

  it('titles are unique per owner only', async () => {
    const a = await t.newUser();
    const b = await t.newUser();
    await t.createProject(a.token, 'Shared');
    const res = await t.request('POST', '/api/projects', { token: b.token, json: { title: 'shared' } });
    expect(res.status).toBe(201);
  });

  it('a missing title is the seed text, one entry per failing field, and nothing is written', async () => {
    const { user, token } = await t.newUser();
    const res = await t.request('POST', '/api/projects', { token, json: { description: 5 } });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      status: 'Failed',
      code: 'VALIDATION_FAILED',
      message: '[Bad Request] title 값이 필요합니다.',
      field: 'title',
      errors: [
        { field: 'title', code: 'required', message: 'title 값이 필요합니다.' },
        { field: 'description', code: 'type', message: 'description 값의 타입이 올바르지 않습니다.' },
      ],
    });
    expect(await liveRows(user.id)).toHaveLength(0);
  });

  it.each([
    ['blank', { title: '   ' }, 'too_short', '[Bad Request] title 값이 너무 짧습니다. (최소 1자)'],
    ['too long', { title: 'x'.repeat(101) }, 'too_long', '[Bad Request] title 값이 너무 깁니다. (최대 100자)'],
    [
      'NUL byte',
      { title: 'a\u0000b' },
      'invalid_characters',
      '[Bad Request] title 값에 허용되지 않는 문자(NUL, 짝이 없는 서로게이트)가 있습니다.',
    ],
    ['wrong type', { title: ['a'] }, 'type', '[Bad Request] title 값의 타입이 올바르지 않습니다.'],
    [
      'long description',
      { title: 'ok', description: 'd'.repeat(2001) },
      'too_long',
      '[Bad Request] description 값이 너무 깁니다. (최대 2000자)',
    ],
  ])('%s is a 400 with field code %s', async (_name, json, code, message) => {
    const { user, token } = await t.newUser();
    const res = await t.request('POST', '/api/projects', { token, json });
    expect(res.status).toBe(400);
    expect(res.body.errors[0].code).toBe(code);
    expect(res.body.message).toBe(message);
    expect(await liveRows(user.id)).toHaveLength(0);
  });

  it('counts length in code points: 100 emoji fit', async () => {
    const { token } = await t.newUser();
    const res = await t.request('POST', '/api/projects', { token, json: { title: '😀'.repeat(100) } });
    expect(res.status).toBe(201);
  });

  it('a lone surrogate in the raw JSON is a 400, not a database error', async () => {
    const { user, token } = await t.newUser();
    const res = await t.request('POST', '/api/projects', {
      token,
      body: '{"title":"a\\ud800b"}',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    expect(res.body.errors).toEqual([
      { field: 'title', code: 'invalid_characters', message: 'title 값에 허용되지 않는 문자(NUL, 짝이 없는 서로게이트)가 있습니다.' },
    ]);
    expect(await liveRows(user.id)).toHaveLength(0);
  });

  it('the success path is one database round trip for the insert plus the session lookup; the 409 adds the holder lookup', async () => {
    const { token } = await t.newUser();
    let before = t.testDb.queries.length;
    const res = await t.request('POST', '/api/projects', { token, json: { title: 'Counted' } });
    expect(res.status).toBe(201);
    let ran = t.testDb.queries.slice(before);
    expect(ran).toHaveLength(2);
    expect(ran[0]).toMatch(/from sessions/);
    expect(ran[1]).toMatch(
      /^insert into "projects" .* on conflict \("owner_id", "title_key"\) where deleted_at is null and title_key is not null do nothing returning/s,
    );
    before = t.testDb.queries.length;
    const duplicate = await t.request('POST', '/api/projects', { token, json: { title: 'COUNTED' } });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body.conflict.id).toBe(res.body.data.id);
    ran = t.testDb.queries.slice(before);
    expect(ran).toHaveLength(2);
    expect(ran[0]).toMatch(/^insert into "projects"/);
    expect(ran[1]).toMatch(/^select "id" from "projects" where "owner_id" = \$1 and "title_key" = \$2 and deleted_at is null/);
  });

  it('needs a session', async () => {
    const res = await t.request('POST', '/api/projects', { json: { title: 'x' } });
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ code: 'UNAUTHENTICATED', message: '[Unauthorized] 로그인이 필요합니다.' });
  });
});

describe('GET /api/projects/{id}', () => {
  it('returns the project with its ETag', async () => {
    const { token } = await t.newUser();
    const p = await t.createProject(token, 'Readable');
    const res = await t.request('GET', `/api/projects/${p.id}`, { token });
    expect(res.status).toBe(200);
    expect(res.headers.get('etag')).toBe('"1"');
    expect(res.body.data).toMatchObject({ id: p.id, title: 'Readable', version: 1 });
  });

  it("another owner's project, an unknown id and a malformed id are all 404", async () => {
    const a = await t.newUser();
    const b = await t.newUser();
    const p = await t.createProject(a.token, 'Private');
    for (const path of [
      `/api/projects/${p.id}`,
      '/api/projects/00000000-0000-4000-8000-000000000000',
      '/api/projects/not-a-uuid',
      "/api/projects/1'or'1",
    ]) {
      const res = await t.request('GET', path, { token: b.token });
      expect(res.status, path).toBe(404);
      expect(res.body).toMatchObject({ code: 'NOT_FOUND_RESOURCE', message: '[Not Found] 요청한 리소스를 찾을 수 없습니다.' });
    }
  });
});

describe('GET /api/projects', () => {
  it('lists newest first with cursor pagination and the deleted filter', async () => {
    const { token } = await t.newUser();
    const made = [];
    for (let i = 0; i < 5; i++) made.push(await t.createProject(token, `P${i}`));
    await t.request('DELETE', `/api/projects/${made[1]!.id}`, { token });

    const page1 = await t.request('GET', '/api/projects?limit=2', { token });
    expect(page1.status).toBe(200);
    expect(page1.body.data.map((p: { title: string }) => p.title)).toEqual(['P4', 'P3']);
    const page2 = await t.request('GET', `/api/projects?limit=2&cursor=${page1.body.meta.nextCursor}`, { token });
    expect(page2.body.data.map((p: { title: string }) => p.title)).toEqual(['P2', 'P0']);
    expect(page2.body.meta.nextCursor).toBeNull();

    const all = await t.request('GET', '/api/projects?deleted=include', { token });
    expect(all.body.data.map((p: { title: string }) => p.title)).toEqual(['P4', 'P3', 'P2', 'P1', 'P0']);
    expect(all.body.meta).toEqual({ nextCursor: null });
    const only = await t.request('GET', '/api/projects?deleted=only', { token });
    expect(only.body.data.map((p: { title: string }) => p.title)).toEqual(['P1']);
    expect(only.body.data[0].deletedAt).not.toBeNull();
  });

  it('does not skip or repeat rows created in the same millisecond', async () => {
    const { user, token } = await t.newUser();
    await t.db
      .insertInto('projects')
      .values(
        Array.from({ length: 7 }, (_, i) => ({
          owner_id: user.id,
          title: `S${i}`,
          title_key: `s${i}`,
          description: null,
          created_at: new Date('2026-01-01T00:00:00.000Z'),
        })),
      )
      .execute();
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { body: { data: { id: string }[]; meta: { nextCursor: string | null } } } = await t.request(
        'GET',
        `/api/projects?limit=3${cursor ? `&cursor=${cursor}` : ''}`,
        { token },
      );
      seen.push(...res.body.data.map((p) => p.id));
      cursor = res.body.meta.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(7);
    expect(new Set(seen).size).toBe(7);
  });

  it('defaults to 20 per page and shows only the caller’s projects', async () => {
    const a = await t.newUser();
    const b = await t.newUser();
    for (let i = 0; i < 21; i++) await t.createProject(a.token, `Many ${i}`);
    await t.createProject(b.token, 'Not yours');
    const res = await t.request('GET', '/api/projects', { token: a.token });
    expect(res.body.data).toHaveLength(20);
    expect(res.body.meta.nextCursor).toEqual(expect.any(String));
    expect(res.body.data.some((p: { title: string }) => p.title === 'Not yours')).toBe(false);
  });

  it('title= keeps the titles that contain it, folded as titles are, page by page; % and _ are plain characters', async () => {
    const { token } = await t.newUser();
    for (const title of ['Road map', 'ROADWORKS', 'Ｒｏａｄ   trip', 'Budget', '100% road', 'road_side'])
      await t.createProject(token, title);
    const titles = async (query: string) => {
      const found: string[] = [];
      let cursor: string | null = null;
      do {
        const res = await t.request('GET', `/api/projects?limit=2&${query}${cursor ? `&cursor=${cursor}` : ''}`, { token });
        expect(res.status).toBe(200);
        found.push(...res.body.data.map((p: { title: string }) => p.title));
        cursor = res.body.meta.nextCursor;
      } while (cursor);
      return found;
    };
    expect(await titles('title=road')).toEqual(['road_side', '100% road', 'Ｒｏａｄ   trip', 'ROADWORKS', 'Road map']);
    expect(await titles(`title=${encodeURIComponent('ROAD  TRIP')}`)).toEqual(['Ｒｏａｄ   trip']);
    expect(await titles(`title=${encodeURIComponent('%')}`)).toEqual(['100% road']);
    expect(await titles('title=d_s')).toEqual(['road_side']);
    expect(await titles('title=nothing')).toEqual([]);
    expect(await titles('title=')).toHaveLength(6);
  });

  it.each([
    ['limit=0', 'limit', 'out_of_range'],
    ['limit=101', 'limit', 'out_of_range'],
    ['limit=abc', 'limit', 'type'],
    ['deleted=maybe', 'deleted', 'invalid_value'],
    ['cursor=bm9wZQ', 'cursor', 'format'],
  ])('%s is a 400 on field %s', async (query, field, code) => {
    const { token } = await t.newUser();
    const res = await t.request('GET', `/api/projects?${query}`, { token });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', field, errors: [{ field, code }] });
  });
});

describe('PATCH /api/projects/{id}', () => {
  it('renames, bumps the version and the ETag; a case-only rename of itself is fine', async () => {
    const { token } = await t.newUser();
    const p = await t.createProject(token, 'Gamma');
    const res = await t.request('PATCH', `/api/projects/${p.id}`, { token, json: { title: 'GAMMA' } });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ title: 'GAMMA', version: 2 });
    expect(res.headers.get('etag')).toBe('"2"');
  });

  it('honours If-Match: current → 200, stale → 412 with nothing changed, * → 200', async () => {
    const { token } = await t.newUser();
    const p = await t.createProject(token, 'Delta');
    const ok = await t.request('PATCH', `/api/projects/${p.id}`, { token, json: { description: 'v2' }, headers: { 'if-match': '"1"' } });
    expect(ok.status).toBe(200);
    const stale = await t.request('PATCH', `/api/projects/${p.id}`, {
      token,
      json: { description: 'lost' },
      headers: { 'if-match': '"1"' },
    });
    expect(stale.status).toBe(412);
    expect(stale.body).toMatchObject({
      code: 'PRECONDITION_FAILED',
      message: '[Precondition Failed] 리소스가 변경되었습니다. 최신 버전을 다시 조회하세요.',
    });
    const weak = await t.request('PATCH', `/api/projects/${p.id}`, {
      token,
      json: { description: 'weak' },
      headers: { 'if-match': 'W/"2"' },
    });
    expect(weak.status).toBe(412);
    const row = await t.db.selectFrom('projects').selectAll().where('id', '=', p.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ description: 'v2', version: 2 });
    const any = await t.request('PATCH', `/api/projects/${p.id}`, { token, json: { description: null }, headers: { 'if-match': '*' } });
    expect(any.status).toBe(200);
    expect(any.body.data).toMatchObject({ description: null, version: 3 });
  });

  it('renaming onto a taken title is a 409 pointing at the holder', async () => {
    const { token } = await t.newUser();
    const holder = await t.createProject(token, 'Epsilon');
    const p = await t.createProject(token, 'Zeta');
    const res = await t.request('PATCH', `/api/projects/${p.id}`, { token, json: { title: 'epsilon' } });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({
      code: 'DUPLICATE_RESOURCE',
      message: '[Conflict] 동일한 이름의 프로젝트가 이미 존재합니다.',
      field: 'title',
      conflict: { id: holder.id, location: `/api/projects/${holder.id}` },
    });
    const row = await t.db.selectFrom('projects').select(['title', 'version']).where('id', '=', p.id).executeTakeFirstOrThrow();
    expect(row).toEqual({ title: 'Zeta', version: 1 });
  });

  it('a deleted project cannot be changed: 409 RESOURCE_STATE_CONFLICT', async () => {
    const { token } = await t.newUser();
    const p = await t.createProject(token, 'Eta');
    await t.request('DELETE', `/api/projects/${p.id}`, { token });
    const res = await t.request('PATCH', `/api/projects/${p.id}`, { token, json: { title: 'Theta' } });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({
      code: 'RESOURCE_STATE_CONFLICT',
      message: '[Conflict] 삭제된 프로젝트는 수정할 수 없습니다. 먼저 복원하세요.',
    });
  });

  it('an empty patch is a 400; an unknown project is a 404', async () => {
    const { token } = await t.newUser();
    const p = await t.createProject(token, 'Iota');
    const empty = await t.request('PATCH', `/api/projects/${p.id}`, { token, json: {} });
    expect(empty.status).toBe(400);
    expect(empty.body).toMatchObject({ code: 'VALIDATION_FAILED', message: '[Bad Request] 변경할 값이 하나 이상 필요합니다.' });
    const missing = await t.request('PATCH', '/api/projects/00000000-0000-4000-8000-000000000000', { token, json: { title: 'x' } });
    expect(missing.status).toBe(404);
  });
});

describe('DELETE /api/projects/{id} and restore', () => {
  it('soft-deletes (again: 204), frees the title, keeps the row with deletedAt', async () => {
    const { user, token } = await t.newUser();
    const p = await t.createProject(token, 'Kappa');
    expect((await t.request('DELETE', `/api/projects/${p.id}`, { token })).status).toBe(204);
    expect((await t.request('DELETE', `/api/projects/${p.id}`, { token })).status).toBe(204);
    const got = await t.request('GET', `/api/projects/${p.id}`, { token });
    expect(got.body.data.deletedAt).toEqual(expect.any(String));
    expect(got.body.data.version).toBe(2);
    expect((await t.request('POST', '/api/projects', { token, json: { title: 'KAPPA' } })).status).toBe(201);
    const rows = await t.db.selectFrom('projects').select(['title', 'deleted_at']).where('owner_id', '=', user.id).execute();
    expect(rows).toHaveLength(2);
  });

  it('honours If-Match on delete', async () => {
    const { token } = await t.newUser();
    const p = await t.createProject(token, 'Lambda');
    const stale = await t.request('DELETE', `/api/projects/${p.id}`, { token, headers: { 'if-match': '"7"' } });
    expect(stale.status).toBe(412);
    const row = await t.db.selectFrom('projects').select('deleted_at').where('id', '=', p.id).executeTakeFirstOrThrow();
    expect(row.deleted_at).toBeNull();
    expect((await t.request('DELETE', `/api/projects/${p.id}`, { token, headers: { 'if-match': '"1"' } })).status).toBe(204);
  });

  it('restores a deleted project; a live project holding its title makes it a 409', async () => {
    const { user, token } = await t.newUser();
    const old = await t.createProject(token, 'Mu');
    await t.request('DELETE', `/api/projects/${old.id}`, { token });
    const restored = await t.request('POST', `/api/projects/${old.id}/restore`, { token });
    expect(restored.status).toBe(200);
    expect(restored.body.data).toMatchObject({ id: old.id, deletedAt: null, version: 3 });
    expect(restored.headers.get('etag')).toBe('"3"');

    await t.request('DELETE', `/api/projects/${old.id}`, { token });
    const holder = await t.createProject(token, 'MU');
    const res = await t.request('POST', `/api/projects/${old.id}/restore`, { token });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({
      code: 'DUPLICATE_RESOURCE',
      message: '[Conflict] 동일한 이름의 프로젝트가 이미 존재합니다.',
      field: 'title',
      conflict: { id: holder.id, location: `/api/projects/${holder.id}` },
    });
    expect((await liveRows(user.id)).map((r) => r.id)).toEqual([holder.id]);
  });

  it('restoring a live project returns it unchanged; an unknown one is 404', async () => {
    const { token } = await t.newUser();
    const p = await t.createProject(token, 'Nu');
    const res = await t.request('POST', `/api/projects/${p.id}/restore`, { token });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ id: p.id, version: 1, deletedAt: null });
    expect((await t.request('POST', '/api/projects/00000000-0000-4000-8000-000000000000/restore', { token })).status).toBe(404);
  });
});

describe('concurrency', () => {
  it('twenty identical creates at once: one 201, nineteen 409s, no 5xx, one row', async () => {
    const { user, token } = await t.newUser();
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => t.request('POST', '/api/projects', { token, json: { title: i % 2 ? 'Race' : ' RACE ' } })),
    );
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    expect(await liveRows(user.id)).toHaveLength(1);
  });
});
