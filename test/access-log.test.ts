import { request } from 'node:http';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NODE_APP_BINDINGS, startNodeServer } from '../src/entry/node-server.ts';
import { ACCESS_LOG_TEXT_LIMIT } from '../src/http/request-context.ts';
import { startTestApp, TEST_CLIENT_IP_HEADER, uniqueName, type TestApp } from './support/harness.ts';

type Line = Record<string, unknown>;

/** The one access line of the request that got `requestId`. */
function accessLine(logs: Line[], requestId: string | null): Line {
  const lines = logs.filter((l) => l.msg === 'request' && l.requestId === requestId);
  expect(lines).toHaveLength(1);
  return lines[0]!;
}

/** What a client would send that must never reach a log line, and the requests that carry it. */
const SECRETS = { query: 'query-secret-value', otherCookie: 'cookie-secret-value', newPassword: 'another-pass-1' };

describe('the access line, in-process', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('answers who asked what of which route, how it ended, how long it took and how much it sent', async () => {
    const { user, token } = await t.newUser();
    const project = await t.createProject(token, 'logged');
    const res = await t.request('GET', `/api/projects/${project.id}?token=${SECRETS.query}&limit=5&token=again`, {
      token,
      headers: { [TEST_CLIENT_IP_HEADER]: '198.51.100.7', 'user-agent': 'curl/8.5.0', 'x-request-id': 'trace-me-1' },
    });
    expect(res.status).toBe(200);
    const bytes = Buffer.byteLength(JSON.stringify(res.body));
    expect(res.headers.get('content-length')).toBe(String(bytes));
    const line = accessLine(t.logs, 'trace-me-1');
    expect(line).toEqual({
      level: 30,
      time: expect.any(Number),
      pid: process.pid,
      hostname: expect.any(String),
      msg: 'request',
      requestId: 'trace-me-1',
      method: 'GET',
      route: '/api/projects/:id',
      path: `/api/projects/${project.id}`,
      query: ['token', 'limit'],
      status: 200,
      ms: expect.any(Number),
      bytes,
      clientIp: '198.51.100.7',
      userId: user.id,
      userAgent: 'curl/8.5.0',
    });
    expect(line.ms).toBeGreaterThanOrEqual(0);
  });

  it('names the route whose auth refused the caller, with no user; and a failure inside the handler with the user', async () => {
    const unauthenticated = await t.request('POST', '/api/projects', { json: { title: 'x' } });
    expect(unauthenticated.status).toBe(401);
    const refused = accessLine(t.logs, unauthenticated.headers.get('x-request-id'));
    expect(refused).toMatchObject({ method: 'POST', route: '/api/projects', status: 401 });
    expect(refused).not.toHaveProperty('userId');

    const { user, token } = await t.newUser();
    await t.createProject(token, 'taken');
    const conflict = await t.request('POST', '/api/projects', { token, json: { title: 'taken' } });
    expect(conflict.status).toBe(409);
    expect(accessLine(t.logs, conflict.headers.get('x-request-id'))).toMatchObject({
      route: '/api/projects',
      status: 409,
      userId: user.id,
      bytes: Buffer.byteLength(JSON.stringify(conflict.body)),
    });
  });

  it('labels what no route answered `unmatched`, whatever its path', async () => {
    const missing = await t.request('GET', '/api/nowhere/12345');
    const wrongMethod = await t.request('PUT', '/api/projects');
    expect([missing.status, wrongMethod.status]).toEqual([404, 405]);
    expect(accessLine(t.logs, missing.headers.get('x-request-id'))).toMatchObject({
      route: 'unmatched',
      path: '/api/nowhere/12345',
      status: 404,
    });
    expect(accessLine(t.logs, wrongMethod.headers.get('x-request-id'))).toMatchObject({ route: 'unmatched', method: 'PUT', status: 405 });
  });

  it('bounds the user agent and the path a client chooses', async () => {
    const agent = 'A'.repeat(ACCESS_LOG_TEXT_LIMIT * 4);
    const path = `/${'p'.repeat(ACCESS_LOG_TEXT_LIMIT * 4)}`;
    const res = await t.request('GET', path, { headers: { 'user-agent': agent } });
    const line = accessLine(t.logs, res.headers.get('x-request-id'));
    expect(line.userAgent).toBe(`${agent.slice(0, ACCESS_LOG_TEXT_LIMIT)}…`);
    expect(line.path).toBe(`${path.slice(0, ACCESS_LOG_TEXT_LIMIT)}…`);
  });

  it('never logs a Bearer token, a cookie, a password or a query value', async () => {
    const from = t.logs.length;
    const { user, password, token } = await t.newUser();
    const cookie = `sid=${token}; other=${SECRETS.otherCookie}`;
    const me = await t.request('GET', `/api/users/me?token=${SECRETS.query}`, { headers: { cookie } });
    expect(me.status).toBe(200);
    const changed = await t.request('PATCH', `/api/users/${user.id}?password=${SECRETS.query}`, {
      token,
      json: { password: SECRETS.newPassword, currentPassword: password },
    });
    expect(changed.status).toBe(200);
    const lines = t.logs.slice(from);
    expect(lines.filter((l) => l.msg === 'request').map((l) => [l.route, l.query])).toEqual([
      ['/api/users', undefined],
      ['/api/sessions', undefined],
      ['/api/users/me', ['token']],
      ['/api/users/:id', ['password']],
    ]);
    const logged = JSON.stringify(lines);
    for (const secret of [token, password, SECRETS.newPassword, SECRETS.query, SECRETS.otherCookie]) expect(logged).not.toContain(secret);
  });
});

describe('the client address', () => {
  it('is the socket peer without TRUST_PROXY, whatever X-Forwarded-For says; the entry one proxy appended with TRUST_PROXY=1', async () => {
    const headers = { [TEST_CLIENT_IP_HEADER]: '10.0.0.1', 'x-forwarded-for': 'spoofed, 203.0.113.5' };
    for (const [trustProxy, expected] of [
      ['0', '10.0.0.1'],
      ['1', '203.0.113.5'],
    ] as const) {
      const t = await startTestApp({ TRUST_PROXY: trustProxy });
      try {
        const res = await t.request('GET', '/health/live', { headers });
        expect(accessLine(t.logs, res.headers.get('x-request-id'))).toMatchObject({ route: '/health/live', clientIp: expected });
      } finally {
        await t.close();
      }
    }
  });
});

interface Received {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function send(port: number, method: string, path: string, headers: Record<string, string>, body?: string): Promise<Received> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, headers, agent: false }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('the access line through the Node server', () => {
  it('carries the socket peer as the client, the route, the user and the bytes sent, and no secret', async () => {
    // The Node entry's own bindings: the client address comes from the socket, not a test header.
    const t = await startTestApp({}, {}, NODE_APP_BINDINGS);
    const server = await new Promise<Server>((resolve) => {
      const started = startNodeServer(t.app, 0, {}, () => resolve(started as Server));
    });
    try {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      const username = uniqueName();
      const password = 'password-123';
      const signUp = { username, password, email: `${username}@example.com`, nickname: 'n' };
      const signedUp = await send(port, 'POST', '/api/users', { 'content-type': 'application/json' }, JSON.stringify(signUp));
      expect(signedUp.status).toBe(201);
      const user = (JSON.parse(signedUp.body) as { data: { id: string } }).data;
      const login = await send(
        port,
        'POST',
        '/api/sessions',
        { 'content-type': 'application/json' },
        JSON.stringify({ login: username, password }),
      );
      expect(login.status).toBe(201);
      const token = (JSON.parse(login.body) as { data: { token: string } }).data.token;
      const res = await send(port, 'GET', `/api/users/${user.id}?token=${SECRETS.query}`, {
        authorization: `Bearer ${token}`,
        cookie: `sid=${token}; other=${SECRETS.otherCookie}`,
        'user-agent': 'node-test/1',
      });
      expect(res.status).toBe(200);
      const line = accessLine(t.logs, String(res.headers['x-request-id']));
      expect(line).toMatchObject({
        method: 'GET',
        route: '/api/users/:id',
        status: 200,
        clientIp: expect.stringMatching(/^(::ffff:)?127\.0\.0\.1$/),
        userId: user.id,
        userAgent: 'node-test/1',
        query: ['token'],
        bytes: Buffer.byteLength(res.body),
      });
      expect(res.headers['content-length']).toBe(String(Buffer.byteLength(res.body)));
      const logged = JSON.stringify(t.logs);
      for (const secret of [token, password, SECRETS.query, SECRETS.otherCookie]) expect(logged).not.toContain(secret);
    } finally {
      server.close();
      await t.close();
    }
  });
});
