import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, uniqueName, type TestApp } from './support/harness.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

function usersNamed(username: string) {
  return t.db.selectFrom('users').selectAll().where('username', '=', username).execute();
}

describe('POST /api/users', () => {
  it('signs up: 201, Location, the canonical user, an argon2id hash at OWASP parameters, no secret in the body', async () => {
    const name = uniqueName('Al');
    const res = await t.request('POST', '/api/users', {
      json: {
        username: `  ${name.toUpperCase()} `,
        password: 'correct horse',
        nickname: '  Cafe\u0301 ',
        email: ` ${name.toUpperCase()}@Example.COM `,
      },
    });
    expect(res.status).toBe(201);
    const user = res.body.data;
    expect(Object.keys(user).sort()).toEqual([
      'createdAt',
      'email',
      'emailVerified',
      'id',
      'nickname',
      'pendingEmail',
      'updatedAt',
      'username',
    ]);
    expect(user).toMatchObject({ username: name.toLowerCase(), nickname: 'Caf\u00e9', email: `${name.toLowerCase()}@example.com` });
    expect(res.headers.get('location')).toBe(`/api/users/${user.id}`);
    const [row] = await usersNamed(name.toLowerCase());
    expect(row?.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(JSON.stringify(res.body)).not.toContain('correct horse');
  });

  it('a username taken in another case or width is a 409 on username with the seed text; one row', async () => {
    const name = uniqueName('dup');
    await t.signUp({ username: name });
    const fullwidth = name.toUpperCase().replace(/[!-~]/g, (ch) => String.fromCodePoint(ch.charCodeAt(0) + 0xfee0));
    for (const username of [name.toUpperCase(), fullwidth]) {
      const res = await t.request('POST', '/api/users', {
        json: { username, password: 'password-123', nickname: 'n', email: `${uniqueName()}@example.com` },
      });
      expect(res.status).toBe(409);
      expect(res.body).toEqual({
        status: 'Failed',
        code: 'DUPLICATE_RESOURCE',
        message: '[Conflict] 이미 존재하는 username입니다',
        field: 'username',
        errors: [{ field: 'username', code: 'duplicate', message: '이미 존재하는 username입니다' }],
        suggestions: [`${name}2`, `${name}_1`, `${name}-dev`],
        requestId: res.headers.get('x-request-id'),
      });
    }
    expect(await usersNamed(name)).toHaveLength(1);
  });

  it('an email taken in another case is a 409 on email', async () => {
    const { user } = await t.signUp();
    const res = await t.request('POST', '/api/users', {
      json: { username: uniqueName(), password: 'password-123', nickname: 'n', email: user.email.toUpperCase() },
    });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'DUPLICATE_RESOURCE', field: 'email', message: '[Conflict] 이미 존재하는 email입니다' });
  });

  it('both taken: field is username and errors lists both; English on request', async () => {
    const { user } = await t.signUp();
    const res = await t.request('POST', '/api/users', {
      json: { username: user.username, password: 'password-123', nickname: 'n', email: user.email },
      headers: { 'accept-language': 'en-US,en;q=0.9' },
    });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({
      code: 'DUPLICATE_RESOURCE',
      message: '[Conflict] This username already exists',
      field: 'username',
      errors: [
        { field: 'username', code: 'duplicate', message: 'This username already exists' },
        { field: 'email', code: 'duplicate', message: 'This email already exists' },
      ],
    });
  });

  it('lists every failing field once, in order, and writes nothing', async () => {
    const before = await t.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    const res = await t.request('POST', '/api/users', { json: { username: 'ab', password: 'short', email: 'nope' } });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      code: 'VALIDATION_FAILED',
      message: '[Bad Request] username 값이 너무 짧습니다. (최소 3자)',
      field: 'username',
      errors: [
        { field: 'username', code: 'too_short', message: 'username 값이 너무 짧습니다. (최소 3자)' },
        { field: 'password', code: 'too_short', message: 'password 값이 너무 짧습니다. (최소 8자)' },
        { field: 'nickname', code: 'required', message: 'nickname 값이 필요합니다.' },
        { field: 'email', code: 'format', message: 'email 값의 형식이 올바르지 않습니다.' },
      ],
    });
    const after = await t.db
      .selectFrom('users')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(after.n)).toBe(Number(before.n));
  });

  it.each([
    ['Cyrillic look-alike', { username: 'аlice' }, 'username', 'format'],
    ['leading dot', { username: '.alice' }, 'username', 'format'],
    ['space inside', { username: 'al ice' }, 'username', 'format'],
    ['31 characters', { username: 'a'.repeat(31) }, 'username', 'too_long'],
    ['NUL in nickname', { nickname: 'a\u0000' }, 'nickname', 'invalid_characters'],
    ['31-character nickname', { nickname: '가'.repeat(31) }, 'nickname', 'too_long'],
    ['129-character password', { password: 'p'.repeat(129) }, 'password', 'too_long'],
    ['255-character email', { email: `${'a'.repeat(64)}@${'b'.repeat(186)}.com` }, 'email', 'too_long'],
    ['email without domain dot', { email: 'a@b' }, 'email', 'format'],
    ['numeric username', { username: 12345 }, 'username', 'type'],
  ])('%s is a 400 on %s (%s)', async (_name, override, field, code) => {
    const json = { username: uniqueName(), password: 'password-123', nickname: 'nick', email: `${uniqueName()}@example.com`, ...override };
    const res = await t.request('POST', '/api/users', { json });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', field, errors: [{ field, code }] });
    expect(await t.db.selectFrom('users').select('id').where('email', '=', json.email).execute()).toHaveLength(0);
  });

  it('accepts names at the limits: 3 and 30 characters, dots, dashes and underscores inside', async () => {
    for (const username of ['a1b', `a.b_c-${'d'.repeat(24)}`]) {
      const res = await t.request('POST', '/api/users', {
        json: {
          username: username.slice(0, 30),
          password: 'p'.repeat(128),
          nickname: '가'.repeat(30),
          email: `${uniqueName()}@example.com`,
        },
      });
      expect(res.status, username).toBe(201);
    }
  });
});

describe('GET /api/users/availability', () => {
  it('a free username or email is 200 with its canonical value', async () => {
    const name = uniqueName('Free');
    const res = await t.request('GET', `/api/users/availability?username=${name.toUpperCase()}`);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'Success', data: { field: 'username', value: name.toLowerCase(), available: true } });
    const email = await t.request('GET', `/api/users/availability?email=${name}@Example.com`);
    expect(email.body.data).toEqual({ field: 'email', value: `${name.toLowerCase()}@example.com`, available: true });
  });

  it('a taken value (any case) is a 409 with the seed text', async () => {
    const { user } = await t.signUp();
    const res = await t.request('GET', `/api/users/availability?username=${user.username.toUpperCase()}`);
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'DUPLICATE_RESOURCE', field: 'username', message: '[Conflict] 이미 존재하는 username입니다' });
    const email = await t.request('GET', `/api/users/availability?email=${user.email.toUpperCase()}`);
    expect(email.body).toMatchObject({ field: 'email', message: '[Conflict] 이미 존재하는 email입니다' });
  });

  it('a malformed value, both, or neither is a 400', async () => {
    const bad = await t.request('GET', '/api/users/availability?username=a');
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 'VALIDATION_FAILED', field: 'username', errors: [{ field: 'username', code: 'too_short' }] });
    for (const query of ['', '?username=abc&email=a@b.co']) {
      const res = await t.request('GET', `/api/users/availability${query}`);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        code: 'VALIDATION_FAILED',
        message: '[Bad Request] username 또는 email 중 정확히 하나가 필요합니다.',
      });
    }
  });
});

describe('GET /api/users/me and /api/users/{id}', () => {
  it('me is the caller in full', async () => {
    const { user, token } = await t.newUser();
    const res = await t.request('GET', '/api/users/me', { token });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({ id: user.id, username: user.username, email: user.email });
  });

  it('others see id, username, nickname, createdAt only; self sees all; unknown or malformed is 404', async () => {
    const a = await t.newUser();
    const b = await t.newUser();
    const other = await t.request('GET', `/api/users/${a.user.id}`, { token: b.token });
    expect(other.status).toBe(200);
    expect(Object.keys(other.body.data).sort()).toEqual(['createdAt', 'id', 'nickname', 'username']);
    const self = await t.request('GET', `/api/users/${a.user.id}`, { token: a.token });
    expect(self.body.data.email).toBe(a.user.email);
    expect((await t.request('GET', '/api/users/00000000-0000-4000-8000-000000000000', { token: a.token })).status).toBe(404);
    expect((await t.request('GET', '/api/users/nope', { token: a.token })).status).toBe(404);
  });

  it('needs a session', async () => {
    const res = await t.request('GET', '/api/users/me');
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('UNAUTHENTICATED');
  });
});

describe('PATCH /api/users/{id}', () => {
  it('changes the nickname and username at once, and the email once its link is followed (canonicalised)', async () => {
    const { user, token } = await t.newUser();
    const name = uniqueName('New');
    const res = await t.request('PATCH', `/api/users/${user.id}`, {
      token,
      json: { nickname: ' 새 이름 ', username: name, email: `${name}@Mail.com` },
    });
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({
      nickname: '새 이름',
      username: name.toLowerCase(),
      email: user.email,
      pendingEmail: `${name.toLowerCase()}@mail.com`,
    });
    const row = await t.db.selectFrom('users').selectAll().where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ username: name.toLowerCase(), email: user.email, pending_email: `${name.toLowerCase()}@mail.com` });
  });

  it('a taken username or email is a 409; nothing changes', async () => {
    const a = await t.newUser();
    const b = await t.newUser();
    const res = await t.request('PATCH', `/api/users/${b.user.id}`, { token: b.token, json: { username: a.user.username.toUpperCase() } });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'DUPLICATE_RESOURCE', field: 'username', message: '[Conflict] 이미 존재하는 username입니다' });
    const email = await t.request('PATCH', `/api/users/${b.user.id}`, { token: b.token, json: { email: a.user.email } });
    expect(email.body).toMatchObject({ code: 'DUPLICATE_RESOURCE', field: 'email', message: '[Conflict] 이미 존재하는 email입니다' });
    const row = await t.db.selectFrom('users').selectAll().where('id', '=', b.user.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ username: b.user.username, email: b.user.email });
  });

  it('keeping your own username is not a conflict', async () => {
    const { user, token } = await t.newUser();
    const res = await t.request('PATCH', `/api/users/${user.id}`, { token, json: { username: user.username.toUpperCase() } });
    expect(res.status).toBe(200);
  });

  it('another user’s account is a 403', async () => {
    const a = await t.newUser();
    const b = await t.newUser();
    const res = await t.request('PATCH', `/api/users/${a.user.id}`, { token: b.token, json: { nickname: 'hijack' } });
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ code: 'FORBIDDEN', message: '[Forbidden] 이 작업을 할 권한이 없습니다.' });
    const del = await t.request('DELETE', `/api/users/${a.user.id}`, { token: b.token });
    expect(del.status).toBe(403);
    expect(await t.db.selectFrom('users').select('nickname').where('id', '=', a.user.id).executeTakeFirst()).toEqual({
      nickname: '테스터',
    });
  });

  it('a new password needs the current one and ends the other sessions, not this one', async () => {
    const { user, password, token } = await t.newUser();
    const other = await t.logIn(user.username, password);
    const missing = await t.request('PATCH', `/api/users/${user.id}`, { token, json: { password: 'new-password-1' } });
    expect(missing.status).toBe(400);
    expect(missing.body).toMatchObject({ field: 'currentPassword', errors: [{ field: 'currentPassword', code: 'required' }] });
    const wrong = await t.request('PATCH', `/api/users/${user.id}`, {
      token,
      json: { password: 'new-password-1', currentPassword: 'nope-nope' },
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatchObject({ message: '[Bad Request] currentPassword 값이 올바르지 않습니다.', errors: [{ code: 'incorrect' }] });

    const ok = await t.request('PATCH', `/api/users/${user.id}`, {
      token,
      json: { password: 'new-password-1', currentPassword: password },
    });
    expect(ok.status).toBe(200);
    expect((await t.request('GET', '/api/users/me', { token })).status).toBe(200);
    expect((await t.request('GET', '/api/users/me', { token: other })).status).toBe(401);
    expect(await t.db.selectFrom('sessions').select('token_hash').where('user_id', '=', user.id).execute()).toHaveLength(1);
    const old = await t.request('POST', '/api/sessions', { json: { login: user.username, password } });
    expect(old.status).toBe(401);
    await t.logIn(user.username, 'new-password-1');
  });

  it('an empty patch is a 400', async () => {
    const { user, token } = await t.newUser();
    const res = await t.request('PATCH', `/api/users/${user.id}`, { token, json: {} });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('VALIDATION_FAILED');
  });
});

describe('DELETE /api/users/{id}', () => {
  it('removes the user, their sessions and projects, clears the cookie, frees the email and holds the username', async () => {
    const { user, password, token } = await t.newUser();
    await t.createProject(token, 'Doomed');
    const res = await t.request('DELETE', `/api/users/${user.id}`, { token });
    expect(res.status).toBe(204);
    expect(res.headers.get('set-cookie')).toMatch(/^sid=; Max-Age=0; Path=\/; HttpOnly; SameSite=Lax/);
    expect(await t.db.selectFrom('users').select('id').where('id', '=', user.id).execute()).toEqual([]);
    expect(await t.db.selectFrom('sessions').select('token_hash').where('user_id', '=', user.id).execute()).toEqual([]);
    expect(await t.db.selectFrom('projects').select('id').where('owner_id', '=', user.id).execute()).toEqual([]);
    expect((await t.request('GET', '/api/users/me', { token })).status).toBe(401);
    const again = await t.request('POST', '/api/users', {
      json: { username: user.username, password, nickname: 'back', email: user.email },
    });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'USERNAME_HELD', field: 'username' });
    const other = await t.request('POST', '/api/users', {
      json: { username: uniqueName(), password, nickname: 'back', email: user.email },
    });
    expect(other.status).toBe(201);
  });
});

describe('reserved usernames', () => {
  it.each(['admin', 'ADMIN', ' Root ', 'ＡＤＭＩＮ', 'ａｐｉ', 'administrator', 'null', 'system', 'support', 'security'])(
    '%j is refused at signup, rename and availability in any case or width',
    async (username) => {
      const signup = await t.request('POST', '/api/users', {
        json: { username, password: 'password-123', nickname: 'n', email: `${uniqueName()}@example.com` },
      });
      expect(signup.status).toBe(400);
      expect(signup.body).toMatchObject({
        code: 'VALIDATION_FAILED',
        field: 'username',
        message: '[Bad Request] username 값은 예약되어 사용할 수 없습니다.',
        errors: [{ field: 'username', code: 'reserved' }],
      });
      const { user, token } = await t.newUser();
      const rename = await t.request('PATCH', `/api/users/${user.id}`, { token, json: { username }, headers: { 'accept-language': 'en' } });
      expect(rename.status).toBe(400);
      expect(rename.body.message).toBe('[Bad Request] This username is reserved.');
      const availability = await t.request('GET', `/api/users/availability?username=${encodeURIComponent(username)}`);
      expect(availability.status).toBe(400);
      expect(availability.body.errors).toEqual([expect.objectContaining({ field: 'username', code: 'reserved' })]);
    },
  );

  it('names that merely contain a reserved word are fine', async () => {
    const res = await t.request('POST', '/api/users', {
      json: {
        username: `admin${uniqueName('x')}`.slice(0, 30),
        password: 'password-123',
        nickname: 'n',
        email: `${uniqueName()}@example.com`,
      },
    });
    expect(res.status).toBe(201);
  });
});
