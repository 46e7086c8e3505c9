import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { startTestApp, TEST_CLIENT_IP_HEADER, uniqueName, type TestApp } from './support/harness.ts';

const from = (ip: string) => ({ [TEST_CLIENT_IP_HEADER]: ip });

describe('rate limits', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      RATE_LIMIT_AVAILABILITY_PER_MINUTE: '3',
      RATE_LIMIT_SIGNUP_PER_MINUTE: '2',
      RATE_LIMIT_LOGIN_PER_MINUTE: '4',
      RATE_LIMIT_LOGIN_FAILURES: '3',
    });
  });
  afterAll(() => t.close());

  it('availability: past the limit per client address, 429 with Retry-After; other addresses unaffected', async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await t.request('GET', `/api/users/availability?username=${uniqueName()}`, { headers: from('198.51.100.1') })).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const limited = await t.request('GET', '/api/users/availability?username=someone', { headers: from('198.51.100.1') });
    expect(limited.body).toMatchObject({
      code: 'RATE_LIMITED',
      message: '[Too Many Requests] 요청이 너무 많습니다. 잠시 후 다시 시도하세요.',
    });
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect((await t.request('GET', '/api/users/availability?username=someone', { headers: from('198.51.100.2') })).status).toBe(200);
    const row = await t.db
      .selectFrom('rate_limits')
      .select('hits')
      .where('bucket', '=', 'availability:198.51.100.1')
      .executeTakeFirstOrThrow();
    expect(row.hits).toBe(5);
  });

  it('a new window starts the count again', async () => {
    for (let i = 0; i < 4; i++) await t.request('GET', '/api/users/availability?username=window', { headers: from('198.51.100.3') });
    expect((await t.request('GET', '/api/users/availability?username=window', { headers: from('198.51.100.3') })).status).toBe(429);
    await t.db
      .updateTable('rate_limits')
      .set({ window_start: sql<Date>`now() - interval '61 seconds'` })
      .where('bucket', '=', 'availability:198.51.100.3')
      .execute();
    expect((await t.request('GET', '/api/users/availability?username=window', { headers: from('198.51.100.3') })).status).toBe(200);
  });

  it('signup: past the limit per address, 429 and nothing written', async () => {
    const names = [uniqueName(), uniqueName(), uniqueName()];
    const statuses = [];
    for (const name of names) {
      const res = await t.request('POST', '/api/users', {
        json: { username: name, password: 'password-123', nickname: 'n', email: `${name}@example.com` },
        headers: from('203.0.113.10'),
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([201, 201, 429]);
    expect(await t.db.selectFrom('users').select('id').where('username', '=', names[2]!).execute()).toEqual([]);
  });

  it('login: failed attempts are counted per login identifier, in any case, across addresses; then even the right password waits', async () => {
    const name = uniqueName();
    await t.request('POST', '/api/users', {
      json: { username: name, password: 'password-123', nickname: 'n', email: `${name}@example.com` },
      headers: from('203.0.113.20'),
    });
    for (const [i, ip] of ['192.0.2.1', '192.0.2.2', '192.0.2.3'].entries()) {
      const res = await t.request('POST', '/api/sessions', {
        json: { login: i % 2 ? name : ` ${name.toUpperCase()} `, password: 'wrong-password' },
        headers: from(ip),
      });
      expect(res.status).toBe(401);
    }
    const locked = await t.request('POST', '/api/sessions', {
      json: { login: name, password: 'password-123' },
      headers: from('192.0.2.4'),
    });
    expect(locked.status).toBe(429);
    expect(locked.body.code).toBe('RATE_LIMITED');
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(60);
  });

  it('an unknown account locks the same way, so a lock-out reveals nothing', async () => {
    const ghost = uniqueName('ghost');
    const statuses = [];
    for (const ip of ['192.0.2.11', '192.0.2.12', '192.0.2.13', '192.0.2.14']) {
      statuses.push(
        (await t.request('POST', '/api/sessions', { json: { login: ghost, password: 'whatever-1' }, headers: from(ip) })).status,
      );
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
  });

  it('login: past the limit per address, 429', async () => {
    const statuses = [];
    for (let i = 0; i < 5; i++) {
      statuses.push(
        (await t.request('POST', '/api/sessions', { json: { login: uniqueName(), password: 'x' }, headers: from('192.0.2.50') })).status,
      );
    }
    expect(statuses).toEqual([401, 401, 401, 401, 429]);
  });

  it('counters live in the database: two instances share them', async () => {
    const config = loadConfig({ RATE_LIMIT_AVAILABILITY_PER_MINUTE: '3' });
    const socketAddress = () => '198.51.100.77';
    const a = createApp({ db: t.db, config, logger: createLogger('silent'), socketAddress });
    const b = createApp({ db: t.db, config, logger: createLogger('silent'), socketAddress });
    const statuses = [];
    for (const app of [a, b, a, b]) statuses.push((await app.request('/api/users/availability?username=shared')).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });
});

describe('TRUST_PROXY', () => {
  it('off: X-Forwarded-For is ignored, so it cannot dodge a limit', async () => {
    const t = await startTestApp({ RATE_LIMIT_AVAILABILITY_PER_MINUTE: '1' });
    try {
      const first = await t.request('GET', '/api/users/availability?username=abc', {
        headers: { ...from('10.0.0.1'), 'x-forwarded-for': '1.1.1.1' },
      });
      const second = await t.request('GET', '/api/users/availability?username=abc', {
        headers: { ...from('10.0.0.1'), 'x-forwarded-for': '2.2.2.2' },
      });
      expect([first.status, second.status]).toEqual([200, 429]);
    } finally {
      await t.close();
    }
  });

  it('one trusted proxy: the entry it appended is the client; what the client wrote to its left is not believed', async () => {
    const t = await startTestApp({ RATE_LIMIT_AVAILABILITY_PER_MINUTE: '1', TRUST_PROXY: 'true' });
    try {
      const a = await t.request('GET', '/api/users/availability?username=abc', {
        headers: { ...from('10.0.0.1'), 'x-forwarded-for': 'spoofed-1, 203.0.113.5' },
      });
      const b = await t.request('GET', '/api/users/availability?username=abc', {
        headers: { ...from('10.0.0.1'), 'x-forwarded-for': 'spoofed-2, 203.0.113.5' },
      });
      const c = await t.request('GET', '/api/users/availability?username=abc', {
        headers: { ...from('10.0.0.1'), 'x-forwarded-for': '203.0.113.6' },
      });
      expect([a.status, b.status, c.status]).toEqual([200, 429, 200]);
    } finally {
      await t.close();
    }
  });
});

describe('login enumeration', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  async function median(login: string): Promise<number> {
    const times: number[] = [];
    for (let i = 0; i < 7; i++) {
      const started = performance.now();
      const res = await t.request('POST', '/api/sessions', { json: { login, password: 'wrong-password' } });
      times.push(performance.now() - started);
      expect(res.status).toBe(401);
    }
    return times.sort((a, b) => a - b)[3]!;
  }

  it('an unknown user costs an argon2id verification like a wrong password does', async () => {
    const { user } = await t.signUp();
    const known = await median(user.username);
    const unknown = await median(uniqueName('nobody'));
    // Both are dominated by one argon2id verification (tens of ms); a missing one would be ~1 ms.
    expect(unknown).toBeGreaterThan(known * 0.5);
    expect(known).toBeGreaterThan(unknown * 0.5);
  });
});

describe('CSRF', () => {
  let t: TestApp;
  let token: string;
  let userId: string;
  beforeAll(async () => {
    t = await startTestApp();
    ({
      token,
      user: { id: userId },
    } = await t.newUser());
  });
  afterAll(() => t.close());

  const withCookie = (headers: Record<string, string> = {}) => ({ cookie: `sid=${token}`, 'content-type': 'application/json', ...headers });
  const post = (headers: Record<string, string>, title: string) =>
    t.app.request('/api/projects', { method: 'POST', headers, body: JSON.stringify({ title }) });

  it.each([
    ['a foreign Origin', { origin: 'https://evil.example' }],
    ['Origin: null', { origin: 'null' }],
    ['a foreign Referer and no Origin', { referer: 'https://evil.example/page' }],
    ['a sibling subdomain', { origin: 'http://evil.localhost' }],
  ])('a cookie-authenticated POST with %s is a 403 and writes nothing', async (_name, headers) => {
    const title = uniqueName('csrf');
    const res = await post(withCookie(headers), title);
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({
      code: 'FORBIDDEN',
      message: '[Forbidden] 다른 출처에서 세션 쿠키로 보낸 요청은 허용되지 않습니다.',
    });
    expect(await t.db.selectFrom('projects').select('id').where('owner_id', '=', userId).where('title', '=', title).execute()).toEqual([]);
  });

  it('DELETE and PATCH are covered too', async () => {
    const p = await t.createProject(token, uniqueName('keep'));
    const del = await t.app.request(`/api/projects/${p.id}`, { method: 'DELETE', headers: withCookie({ origin: 'https://evil.example' }) });
    expect(del.status).toBe(403);
    const patch = await t.app.request(`/api/users/${userId}`, {
      method: 'PATCH',
      headers: withCookie({ origin: 'https://evil.example' }),
      body: '{"nickname":"x"}',
    });
    expect(patch.status).toBe(403);
  });

  it('same origin, no Origin at all, a Bearer token, and safe methods pass', async () => {
    expect((await post(withCookie({ origin: 'http://localhost' }), uniqueName())).status).toBe(201);
    expect((await post(withCookie(), uniqueName())).status).toBe(201);
    expect(
      (await post({ authorization: `Bearer ${token}`, 'content-type': 'application/json', origin: 'https://evil.example' }, uniqueName()))
        .status,
    ).toBe(201);
    expect((await t.app.request('/api/projects', { headers: withCookie({ origin: 'https://evil.example' }) })).status).toBe(200);
  });

  it('behind a trusted proxy the forwarded scheme and host are the request’s own', async () => {
    const proxied = createApp({ db: t.db, config: loadConfig({ TRUST_PROXY: '1' }), logger: createLogger('silent') });
    const send = (headers: Record<string, string>) =>
      proxied.request('/api/projects', { method: 'POST', headers: withCookie(headers), body: JSON.stringify({ title: uniqueName() }) });
    expect(
      (await send({ origin: 'https://api.example.com', 'x-forwarded-host': 'api.example.com', 'x-forwarded-proto': 'https' })).status,
    ).toBe(201);
    expect(
      (await send({ origin: 'https://api.example.com', 'x-forwarded-host': 'api.example.com', 'x-forwarded-proto': 'http' })).status,
    ).toBe(403);
  });

  it('origins are compared as origins: scheme and host case-insensitive, default ports elided', async () => {
    expect((await post(withCookie({ origin: 'HTTP://LocalHost:80' }), uniqueName())).status).toBe(201);
    expect((await post(withCookie({ referer: 'http://localhost:80/app/page?x=1' }), uniqueName())).status).toBe(201);
    for (const origin of ['https://localhost', 'http://localhost:8080', 'http://localhost.evil.example', 'http://user@evil.example']) {
      expect((await post(withCookie({ origin }), uniqueName())).status, origin).toBe(403);
    }
  });

  it('Sec-Fetch-Site decides where a browser sends it: same-origin and none pass, same-site and cross-site do not', async () => {
    expect((await post(withCookie({ 'sec-fetch-site': 'same-origin' }), uniqueName())).status).toBe(201);
    expect((await post(withCookie({ 'sec-fetch-site': 'none' }), uniqueName())).status).toBe(201);
    for (const site of ['same-site', 'cross-site']) {
      const title = uniqueName('site');
      const res = await post(withCookie({ 'sec-fetch-site': site, origin: 'http://localhost' }), title);
      expect(res.status, site).toBe(403);
      expect(await res.json()).toMatchObject({
        code: 'FORBIDDEN',
        message: '[Forbidden] 다른 출처에서 세션 쿠키로 보낸 요청은 허용되지 않습니다.',
      });
      expect(await t.db.selectFrom('projects').select('id').where('title', '=', title).execute()).toEqual([]);
    }
  });

  // Every authenticated operation is reachable with the session cookie too (the document names only
  // the bearer scheme, which Swagger UI can send), and login from a form.
  it('OpenAPI documents the 403 on every unsafe operation a cookie (or a login form) can reach', async () => {
    const doc = (await (await t.app.request('/openapi.json')).json()) as {
      paths: Record<string, Record<string, { security?: Record<string, unknown>[]; responses: Record<string, unknown> }>>;
    };
    const unsafe = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops)
        .filter(
          ([method, op]) =>
            ['post', 'patch', 'put', 'delete'].includes(method) && (path === '/api/sessions' || (op.security ?? []).length > 0),
        )
        .map(([method, op]) => [`${method} ${path}`, Object.keys(op.responses)] as const),
    );
    expect(unsafe.length).toBeGreaterThan(5);
    for (const [operation, statuses] of unsafe) expect(statuses, operation).toContain('403');
  });

  it('login CSRF: a login from a foreign page is 403 without any cookie, and starts no session', async () => {
    const { user, password } = await t.signUp();
    const sessions = async () => (await t.db.selectFrom('sessions').select('user_id').where('user_id', '=', user.id).execute()).length;
    const logIn = (headers: Record<string, string>) =>
      t.app.request('/api/sessions', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'accept-language': 'en', ...headers },
        body: JSON.stringify({ login: user.username, password }),
      });
    const foreign: Record<string, string>[] = [
      { origin: 'https://evil.example' },
      { 'sec-fetch-site': 'cross-site' },
      { 'sec-fetch-site': 'same-site' },
      { origin: 'null' },
    ];
    for (const headers of foreign) {
      const res = await logIn(headers);
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(await res.json()).toMatchObject({
        code: 'FORBIDDEN',
        message: '[Forbidden] Login requests from another origin are not allowed.',
      });
      expect(res.headers.get('set-cookie')).toBeNull();
    }
    expect(await sessions()).toBe(0);
    expect((await logIn({ origin: 'http://localhost', 'sec-fetch-site': 'same-origin' })).status).toBe(201);
    expect((await logIn({})).status).toBe(201);
    expect(await sessions()).toBe(2);
  });
});

describe('secure headers', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('every API response, failures included, is nosniff, unframeable, uncached, with no X-Powered-By', async () => {
    for (const path of ['/api/users/me', '/api/nowhere', '/health/live', '/openapi.json']) {
      const res = await t.app.request(path);
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
      expect(res.headers.get('referrer-policy'), path).toBe('no-referrer');
      expect(res.headers.get('content-security-policy'), path).toBe("default-src 'none'; frame-ancestors 'none'");
      expect(res.headers.get('x-powered-by'), path).toBeNull();
      if (path.startsWith('/api/')) expect(res.headers.get('cache-control'), path).toBe('no-store');
    }
  });

  it('the docs page may load its own scripts; https adds HSTS', async () => {
    const docs = await t.app.request('/docs');
    expect(docs.headers.get('content-security-policy')).toContain("default-src 'self'");
    const https = await t.app.request('https://api.example/health/live');
    expect(https.headers.get('strict-transport-security')).toBe('max-age=31536000; includeSubDomains');
    expect((await t.app.request('/health/live')).headers.get('strict-transport-security')).toBeNull();
  });

  it('X-Forwarded-Proto counts only from a trusted proxy', async () => {
    const forwarded = { 'x-forwarded-proto': 'https' };
    expect((await t.app.request('/health/live', { headers: forwarded })).headers.get('strict-transport-security')).toBeNull();
    const proxied = createApp({ db: t.db, config: loadConfig({ TRUST_PROXY: '1' }), logger: createLogger('silent') });
    expect((await proxied.request('/health/live', { headers: forwarded })).headers.get('strict-transport-security')).toBe(
      'max-age=31536000; includeSubDomains',
    );
  });
});
