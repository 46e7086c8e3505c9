import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createDb } from '../src/db/database.ts';
import { createLogger } from '../src/logger.ts';
import { startTestApp, type TestApp } from './support/harness.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({ BODY_LIMIT_BYTES: '1024' });
});
afterAll(() => t.close());

async function userCount(): Promise<number> {
  const row = await t.db
    .selectFrom('users')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('X-Request-Id and the access log', () => {
  it('generates an id, returns it in header and body, and logs one line with it', async () => {
    const res = await t.request('GET', '/api/nowhere');
    const id = res.headers.get('x-request-id');
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body.requestId).toBe(id);
    const lines = t.logs.filter((l) => l.requestId === id);
    expect(lines).toEqual([
      expect.objectContaining({ msg: 'request', method: 'GET', path: '/api/nowhere', status: 404, ms: expect.any(Number), level: 30 }),
    ]);
  });

  it('echoes a sane client id and replaces an insane one', async () => {
    const sane = await t.request('GET', '/health/live', { headers: { 'x-request-id': 'abc-123.DEF_4:5' } });
    expect(sane.headers.get('x-request-id')).toBe('abc-123.DEF_4:5');
    const insane = await t.request('GET', '/api/nowhere', { headers: { 'x-request-id': 'a b\t{"level":60}' } });
    expect(insane.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(insane.body.requestId).toBe(insane.headers.get('x-request-id'));
  });

  it('never logs passwords, tokens or hashes', async () => {
    const { user, password, token } = await t.newUser();
    await t.request('PATCH', `/api/users/${user.id}`, { token, json: { password: 'another-pass-1', currentPassword: password } });
    const logged = JSON.stringify(t.logs);
    const row = await t.db.selectFrom('users').select('password_hash').where('id', '=', user.id).executeTakeFirstOrThrow();
    for (const secret of [password, 'another-pass-1', token, row.password_hash]) expect(logged).not.toContain(secret);
  });
});

describe('RFC 9457 problem details', () => {
  it('switches failures to application/problem+json with the same code, message, field and errors', async () => {
    const res = await t.request('POST', '/api/users', {
      json: { username: 'x' },
      headers: { accept: 'application/problem+json', 'accept-language': 'en' },
    });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json; charset=UTF-8');
    expect(res.body).toEqual({
      type: 'urn:projects-api:problem:VALIDATION_FAILED',
      title: 'Bad Request',
      status: 400,
      detail: 'username is too short (at least 3 characters).',
      instance: '/api/users',
      code: 'VALIDATION_FAILED',
      message: '[Bad Request] username is too short (at least 3 characters).',
      field: 'username',
      errors: [
        { field: 'username', code: 'too_short', message: 'username is too short (at least 3 characters).' },
        { field: 'password', code: 'required', message: 'password is required.' },
        { field: 'nickname', code: 'required', message: 'nickname is required.' },
        { field: 'email', code: 'required', message: 'email is required.' },
      ],
      requestId: res.headers.get('x-request-id'),
    });
  });

  it('carries conflict on a 409', async () => {
    const { token } = await t.newUser();
    const p = await t.createProject(token, 'Problem');
    const res = await t.request('POST', '/api/projects', {
      token,
      json: { title: 'problem' },
      headers: { accept: 'application/problem+json' },
    });
    expect(res.body).toMatchObject({
      status: 409,
      title: 'Conflict',
      detail: '동일한 이름의 프로젝트가 이미 존재합니다.',
      message: '[Conflict] 동일한 이름의 프로젝트가 이미 존재합니다.',
      field: 'title',
      conflict: { id: p.id, location: `/api/projects/${p.id}` },
    });
  });
});

describe('Accept-Language', () => {
  it.each([
    [undefined, 'ko'],
    ['en', 'en'],
    ['en-GB', 'en'],
    ['fr-FR, en;q=0.5', 'en'],
    ['en;q=0.2, ko-KR;q=0.8', 'ko'],
    ['fr', 'ko'],
    ['*', 'ko'],
    ['en;q=0', 'ko'],
  ])('%s → %s', async (header, locale) => {
    const res = await t.request('GET', '/api/nowhere', { headers: header ? { 'accept-language': header } : {} });
    expect(res.body.message).toBe(
      locale === 'ko' ? '[Not Found] 요청한 리소스를 찾을 수 없습니다.' : '[Not Found] The requested resource was not found.',
    );
  });

  it('DEFAULT_LOCALE=en answers English when the header names neither language', async () => {
    const en = await startTestApp({ DEFAULT_LOCALE: 'en' });
    try {
      expect((await en.request('GET', '/api/nowhere', { headers: { 'accept-language': 'de' } })).body.message).toBe(
        '[Not Found] The requested resource was not found.',
      );
      expect((await en.request('GET', '/api/nowhere', { headers: { 'accept-language': 'ko' } })).body.message).toBe(
        '[Not Found] 요청한 리소스를 찾을 수 없습니다.',
      );
    } finally {
      await en.close();
    }
  });
});

describe('request bodies', () => {
  const signup = { username: 'bodycheck', password: 'password-123', nickname: 'n', email: 'bodycheck@example.com' };

  it.each([
    ['malformed JSON', '{"username":'],
    ['an array', '[1,2]'],
    ['a string', '"hello"'],
    ['null', 'null'],
    ['an empty body', ''],
  ])('%s is a 400 INVALID_JSON and writes nothing', async (_name, body) => {
    const before = await userCount();
    const res = await t.request('POST', '/api/users', { body, headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'INVALID_JSON', message: '[Bad Request] 요청 본문이 올바른 JSON 객체가 아닙니다.' });
    expect(await userCount()).toBe(before);
  });

  it('a missing body without Content-Type is a 400 INVALID_JSON', async () => {
    const res = await t.request('POST', '/api/users');
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('INVALID_JSON');
  });

  it.each([
    ['text/plain', { 'content-type': 'text/plain' }],
    ['form data', { 'content-type': 'application/x-www-form-urlencoded' }],
    ['no Content-Type', {}],
  ])('a body sent as %s is a 415', async (_name, headers) => {
    const res = await t.request('POST', '/api/users', { body: JSON.stringify(signup), headers });
    expect(res.status).toBe(415);
    expect(res.body).toMatchObject({
      code: 'UNSUPPORTED_MEDIA_TYPE',
      message: '[Unsupported Media Type] Content-Type은 application/json이어야 합니다.',
    });
  });

  it('accepts application/json with a charset and +json types', async () => {
    const res = await t.request('POST', '/api/users', {
      body: JSON.stringify({ ...signup, username: 'charsetok', email: 'charsetok@example.com' }),
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    expect(res.status).toBe(201);
  });

  it('a body over BODY_LIMIT_BYTES is a 413 before parsing, by Content-Length or while streaming', async () => {
    const before = await userCount();
    const big = JSON.stringify({ ...signup, nickname: 'x'.repeat(2000) });
    const declared = await t.request('POST', '/api/users', { body: big, headers: { 'content-type': 'application/json' } });
    expect(declared.status).toBe(413);
    expect(declared.body).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', message: '[Payload Too Large] 요청 본문이 너무 큽니다.' });

    const stream = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode(' '.repeat(200)));
        controller.close();
      },
    });
    const res = await t.app.request('/api/users', {
      method: 'POST',
      body: stream,
      headers: { 'content-type': 'application/json' },
      duplex: 'half',
    });
    expect(res.status).toBe(413);
    expect(await userCount()).toBe(before);
  });
});

describe('hostile query strings and paths', () => {
  it.each([
    ['/api/users/availability?username=%00abc', 400],
    ['/api/users/availability?username=%ED%A0%80abc', 400],
    ['/api/users/availability?email=%', 400],
    ['/api/users/availability?username=a&username=b', 400],
    ['/api/projects?limit=1e400', 400],
    ['/api/projects?cursor=%00', 400],
    ['/api/projects?deleted[]=only', 200],
    ['/api/projects/%00', 404],
    ['/api/projects/%E0%A4%A', 404],
    [`/api/users/${'a'.repeat(5000)}`, 404],
  ])('%s is a %i, never a 5xx', async (path, status) => {
    const { token } = await t.newUser();
    const res = await t.request('GET', path, { token });
    expect(res.status).toBe(status);
    if (status !== 200) expect(res.body.status).toBe('Failed');
  });
});

describe('routing', () => {
  it('an unknown route is a 404 NOT_FOUND_RESOURCE', async () => {
    const res = await t.request('GET', '/api/projects/1/2/3');
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ status: 'Failed', code: 'NOT_FOUND_RESOURCE' });
  });

  it('a known path with the wrong method is a 405 with Allow', async () => {
    const res = await t.request('PUT', '/api/projects/0b8f7c1e-2d4a-4c59-9d7e-2f1a3b4c5d6e');
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('DELETE, GET, HEAD, PATCH');
    expect(res.body).toMatchObject({ code: 'METHOD_NOT_ALLOWED', message: '[Method Not Allowed] 허용되지 않는 메서드입니다.' });
    const availability = await t.request('POST', '/api/users/availability');
    expect(availability.headers.get('allow')).toBe('GET, HEAD');
  });

  it('OPTIONS on a known path lists the methods', async () => {
    const res = await t.request('OPTIONS', '/api/projects');
    expect(res.status).toBe(204);
    expect(res.headers.get('allow')).toBe('GET, HEAD, POST');
  });
});

describe('failures of ours', () => {
  it('a 500 reveals nothing and is logged with its request id', async () => {
    const broken = await startTestApp();
    try {
      const { token } = await broken.newUser();
      await sql`drop table projects`.execute(broken.db);
      const ko = await broken.request('GET', '/api/projects', { token });
      expect(ko.status).toBe(500);
      const { requestId, ...rest } = ko.body;
      expect(rest).toEqual({ status: 'Failed', code: 'INTERNAL_ERROR', message: '[Internal Server Error] 서버 내부 오류가 발생했습니다.' });
      const en = await broken.request('GET', '/api/projects', { token, headers: { 'accept-language': 'en' } });
      expect(en.body.message).toBe('[Internal Server Error] Internal server error');
      const logged = broken.logs.find((l) => l.requestId === requestId && l.level === 50);
      expect(logged).toMatchObject({
        msg: 'request failed',
        err: expect.objectContaining({ message: expect.stringContaining('projects') }),
      });
    } finally {
      await broken.close();
    }
  });

  it('a failed write logs no bound parameters: no password hash reaches the log', async () => {
    const broken = await startTestApp();
    try {
      await sql`alter table users add column required_extra int not null`.execute(broken.db);
      const res = await broken.request('POST', '/api/users', {
        json: { username: 'leaky', password: 'password-123', nickname: 'n', email: 'leaky@example.com' },
      });
      expect(res.status).toBe(500);
      const failure = broken.logs.find((l) => l.msg === 'request failed');
      expect(failure).toMatchObject({ err: expect.objectContaining({ code: '23502' }) });
      expect(JSON.stringify(broken.logs)).not.toContain('$argon2id');
    } finally {
      await broken.close();
    }
  });

  it('an unreachable database is a 503 with Retry-After; live stays 200, ready is 503', async () => {
    const database = await createDb('postgres://postgres@127.0.0.1:1/none', { max: 1 });
    const app = createApp({ db: database.db, config: loadConfig({}), logger: createLogger('silent') });
    try {
      const signup = await app.request('/api/users', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username: 'nodb', password: 'password-123', nickname: 'n', email: 'nodb@example.com' }),
      });
      expect(signup.status).toBe(503);
      expect(signup.headers.get('retry-after')).toBe('2');
      expect(await signup.json()).toMatchObject({
        code: 'SERVICE_UNAVAILABLE',
        message: '[Service Unavailable] 일시적으로 서비스를 이용할 수 없습니다. 잠시 후 다시 시도하세요.',
      });
      expect((await app.request('/health/live')).status).toBe(200);
      const ready = await app.request('/health/ready');
      expect(ready.status).toBe(503);
      expect(ready.headers.get('retry-after')).toBe('2');
    } finally {
      await database.close();
    }
  });
});

describe('health', () => {
  it('live and ready are 200 with a database', async () => {
    expect((await t.request('GET', '/health/live')).body).toEqual({ status: 'Success', data: { status: 'live' } });
    expect((await t.request('GET', '/health/ready')).body).toEqual({ status: 'Success', data: { status: 'ready' } });
  });
});
