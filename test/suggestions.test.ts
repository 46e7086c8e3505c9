import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESERVED_USERNAMES, Username } from '../src/users/users.schemas.ts';
import { startTestApp, uniqueName, type TestApp } from './support/harness.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ RATE_LIMIT_AVAILABILITY_PER_MINUTE: '3' });
});
afterAll(() => t.close());

/** Asserts what every suggestion promises: canonical, valid, not reserved, free now, derived from `base`. */
async function expectGoodSuggestions(suggestions: unknown, base: string) {
  expect(Array.isArray(suggestions)).toBe(true);
  const list = suggestions as string[];
  expect(list.length).toBeGreaterThanOrEqual(1);
  expect(list.length).toBeLessThanOrEqual(3);
  expect(new Set(list).size).toBe(list.length);
  for (const name of list) {
    expect(Username.safeParse(name)).toEqual({ success: true, data: name });
    expect(RESERVED_USERNAMES.has(name)).toBe(false);
    expect(name.startsWith(base.slice(0, 20))).toBe(true);
    const rows = await t.db.selectFrom('users').select('id').where('username', '=', name).execute();
    expect(rows).toEqual([]);
  }
}

function availability(query: string, ip: string) {
  return t.request('GET', `/api/users/availability?${query}`, { headers: { 'x-test-client-ip': ip } });
}

describe('suggestions on a username 409', () => {
  it('availability: up to three free, valid, canonical alternatives; none taken', async () => {
    const { user } = await t.signUp();
    // The first alternatives a person would try are taken too: they are skipped.
    await t.signUp({ username: `${user.username}2` });
    await t.signUp({ username: `${user.username}_1` });
    const res = await availability(`username=${user.username.toUpperCase()}`, '10.1.0.1');
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'DUPLICATE_RESOURCE', field: 'username', message: '[Conflict] 이미 존재하는 username입니다' });
    await expectGoodSuggestions(res.body.suggestions, user.username);
    expect(res.body.suggestions).not.toContain(`${user.username}2`);
    expect(res.body.suggestions).not.toContain(`${user.username}_1`);
    expect(res.body.suggestions).toHaveLength(3);
  });

  it('cost one query, and count against the availability limit like any check', async () => {
    const { user } = await t.signUp();
    const before = t.testDb.queries.length;
    const res = await availability(`username=${user.username}`, '10.1.0.2');
    expect(res.status).toBe(409);
    const sql = t.testDb.queries.slice(before).filter((q) => /from "user(s|names)"/i.test(q));
    // One to find the name taken, one for the suggestions (among names in use and held).
    expect(sql).toHaveLength(2);
    await availability(`username=${user.username}`, '10.1.0.2');
    await availability(`username=${user.username}`, '10.1.0.2');
    const limited = await availability(`username=${user.username}`, '10.1.0.2');
    expect(limited.status).toBe(429);
    expect(limited.body.suggestions).toBeUndefined();
  });

  it('a name at the 30-character limit still gets valid suggestions', async () => {
    const long = `${uniqueName('x')}${'y'.repeat(30)}`.slice(0, 30);
    await t.signUp({ username: long });
    const res = await availability(`username=${long}`, '10.1.0.3');
    expect(res.status).toBe(409);
    await expectGoodSuggestions(res.body.suggestions, long);
  });

  it('signup: the 409 on username carries suggestions, in problem+json too; the form values are not echoed', async () => {
    const { user } = await t.signUp();
    const other = uniqueName();
    const body = { username: user.username, email: `${other}@example.com`, nickname: 'n', password: 'password-123' };
    const res = await t.request('POST', '/api/users', { json: body });
    expect(res.status).toBe(409);
    expect(res.body.field).toBe('username');
    await expectGoodSuggestions(res.body.suggestions, user.username);
    const problem = await t.request('POST', '/api/users', { json: body, headers: { accept: 'application/problem+json' } });
    expect(problem.status).toBe(409);
    await expectGoodSuggestions(problem.body.suggestions, user.username);
  });

  it('rename: the 409 on username carries suggestions', async () => {
    const a = await t.newUser();
    const b = await t.newUser();
    const res = await t.request('PATCH', `/api/users/${b.user.id}`, { token: b.token, json: { username: a.user.username } });
    expect(res.status).toBe(409);
    await expectGoodSuggestions(res.body.suggestions, a.user.username);
  });

  it('a suggestion is advice: signing up with it succeeds', async () => {
    const { user } = await t.signUp();
    const res = await availability(`username=${user.username}`, '10.1.0.4');
    const [first] = res.body.suggestions as string[];
    await t.signUp({ username: first! });
  });

  it('never for email, and never on a 400', async () => {
    const { user } = await t.signUp();
    const email = await availability(`email=${user.email}`, '10.1.0.5');
    expect(email.status).toBe(409);
    expect(email.body.suggestions).toBeUndefined();
    const signup = await t.request('POST', '/api/users', {
      json: { username: uniqueName(), email: user.email, nickname: 'n', password: 'password-123' },
    });
    expect(signup.status).toBe(409);
    expect(signup.body.field).toBe('email');
    expect(signup.body.suggestions).toBeUndefined();
    const reserved = await availability('username=admin', '10.1.0.5');
    expect(reserved.status).toBe(400);
    expect(reserved.body.suggestions).toBeUndefined();
  });

  it('OpenAPI documents suggestions on the error envelope and problem details', async () => {
    const doc = await t.request('GET', '/openapi.json');
    for (const name of ['Error', 'Problem']) {
      expect(doc.body.components.schemas[name].properties.suggestions).toMatchObject({
        type: 'array',
        maxItems: 3,
        items: { type: 'string' },
      });
    }
  });
});
