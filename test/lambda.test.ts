import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createDb } from '../src/db/database.ts';
import { migrate } from '../src/db/migrations.ts';
import type { DB } from '../src/db/schema.ts';
import { anonymousScope } from '../src/idempotency/idempotency.repository.ts';
import { onPostgres, openTestDatabase, uniqueName, type TestDatabase } from './support/harness.ts';
import { type LambdaContainer, type LambdaResponse } from './support/lambda-container.ts';
import { DOT_SEGMENT_PATHS } from './support/dot-segments.ts';
import { fixture, lambdaEvent, startContainer, templateFunction, type EventChange } from './support/lambda.ts';
import { LIVE_SEEDED_SESSIONS, remainingSessions, seedDeadAndLiveSessions } from './support/dead-sessions.ts';
import { runStatement } from './support/pg-client.ts';
import { databaseUrl } from './support/postgres-url.ts';

// Every request here goes through the built handler (dist/lambda, copied outside the repository),
// with real events (test/fixtures/lambda-events, see SOURCES.md there) changed only in method,
// path, headers and body. On PostgreSQL each container gets a fresh clone of the migrated
// database, which the tests also read; on PGlite each container migrates its own in-memory
// database at cold start.

const REST_NO_AUTH = 'rest-v1__powertools-ts__no-auth';
const REST_COGNITO = 'rest-v1__powertools-ts__cognito-claims';
const REST_COGNITO_NO_SUB = 'rest-v1__lambda-dotnet__cognito-claims';
const REST_DEVGUIDE = 'rest-v1__lambda-devguide__nodejs-apig-event';
const REST_CONSOLE = 'rest-v1__powertools-ts__console-test-null-headers';
const REST_CONSOLE_RUST = 'rest-v1__lambda-rust__console-test-null-headers';
const REST_BAD_BASE64 = 'rest-v1__powertools-py__base64-flag';
const HTTP_JSON = 'http-v2__lambda-dotnet__put-json-body';
const HTTP_COOKIES = 'http-v2__lambda-dotnet__cookies';
const HTTP_JWT = 'http-v2__powertools-ts__jwt-claims';
const HTTP_NAMED_STAGE = 'http-v2__lambda-devguide__nodejs-apig-event-v2';
const HTTP_BAD_BASE64 = 'http-v2__lambda-dotnet__base64-flag-jwt-cookies';
const ALB_SINGLE = 'alb__lambda-go__headers-only';
const ALB_MULTI = 'alb__serverless-express__multivalue-json-post';
const ALB_BASE64 = 'alb__lambda-dotnet__base64-body';

/** The Cognito identity both powertools fixtures carry (REST claims and HTTP API JWT claims). */
const COGNITO_ISSUER = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_y0bLG4i27';
const COGNITO_SUB = 'd2f50444-0041-7036-aea2-a955fca33d37';

interface Deployment {
  container: LambdaContainer;
  /** Where another container can reach the same database (PostgreSQL only). */
  url: string | undefined;
  /** The database the container uses, when the tests can read it too (PostgreSQL). */
  db: Kysely<DB> | undefined;
  close(): Promise<void>;
}

async function deploy(env: Record<string, string> = {}): Promise<Deployment> {
  if (!onPostgres()) {
    const container = await startContainer({ DATABASE_URL: 'pglite://memory', ...env });
    return { container, url: undefined, db: undefined, close: () => container.stop() };
  }
  const testDb: TestDatabase = await openTestDatabase();
  const url = testDb.url ?? '';
  const container = await startContainer({ DATABASE_URL: url, ...env });
  return {
    container,
    url,
    db: testDb.database.db,
    close: async () => {
      await container.stop();
      await testDb.close();
    },
  };
}

function signupBody(username = uniqueName('lam')) {
  return { username, email: `${username}@example.com`, nickname: '람다', password: 'password-123' };
}

let plain: Deployment;
let trusting: Deployment;

beforeAll(async () => {
  [plain, trusting] = await Promise.all([deploy(), deploy({ TRUST_GATEWAY_AUTH: 'true', RATE_LIMIT_AVAILABILITY_PER_MINUTE: '2' })]);
}, 120_000);
afterAll(() => Promise.all([plain.close(), trusting.close()]));

const send = (d: Deployment, fixtureName: string, change: EventChange) => d.container.invoke(lambdaEvent(fixtureName, change));

async function logIn(d: Deployment, fixtureName: string, login: string): Promise<LambdaResponse> {
  return send(d, fixtureName, { method: 'POST', path: '/api/sessions', json: { login, password: 'password-123' } });
}

describe('the artifact', () => {
  it('template.yaml runs what the build writes: CodeUri holds <file>.mjs exporting the Handler', () => {
    const fn = templateFunction();
    expect(fn.codeUri).toBe('dist/lambda/');
    expect(fn.handler).toBe('index.handler');
    expect(fn.runtime).toMatch(/^nodejs(2[2-9]|[3-9]\d)\.x$/);
    const [file] = fn.handler.split('.');
    expect(statSync(join(fn.codeUri, `${file}.mjs`)).isFile()).toBe(true);
    // Every container below was started from a copy of CodeUri outside the repository, through
    // this same Handler string.
    expect(inject('lambdaArtifact').handler).toBe(fn.handler);
  });

  it('the bundle (without the native binary) is under 1 MB, minified, with a source map', () => {
    const { dir } = inject('lambdaArtifact');
    expect(statSync(join(dir, 'index.mjs')).size).toBeLessThan(1_000_000);
    expect(statSync(join(dir, 'index.mjs.map')).isFile()).toBe(true);
    // Minified: the sources' comments are gone.
    const bundle = readFileSync(join(dir, 'index.mjs'), 'utf8');
    expect(bundle).toContain('export{');
    expect(bundle).not.toContain('Builds the whole HTTP app');
  });

  it('serves /openapi.json and /docs with its assets from the artifact alone', async () => {
    const doc = await send(plain, HTTP_JSON, { method: 'GET', path: '/openapi.json' });
    expect(doc.status).toBe(200);
    expect(doc.body.paths['/api/users/me']).toBeDefined();
    const page = await send(plain, HTTP_JSON, { method: 'GET', path: '/docs' });
    expect(page.body).toContain('/docs/swagger-ui-bundle.js');
    const script = await send(plain, HTTP_JSON, { method: 'GET', path: '/docs/swagger-ui-bundle.js' });
    expect(script.status).toBe(200);
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.body).toContain('SwaggerUIBundle');
  });

  it('carries and serves the web page: GET / is the HTML, and its script and stylesheet follow', async () => {
    const page = await send(plain, HTTP_JSON, { method: 'GET', path: '/' });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-cache');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    const assets = [...String(page.body).matchAll(/(?:src|href)="(\/assets\/app-\w{8}\.(js|css))"/g)];
    expect(assets.map(([, , ext]) => ext).sort()).toEqual(['css', 'js']);
    for (const [, path, ext] of assets) {
      const asset = await send(plain, REST_NO_AUTH, { method: 'GET', path: path! });
      expect(asset.status).toBe(200);
      expect(asset.headers['content-type']).toBe(ext === 'js' ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8');
      expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect(String(asset.body).length).toBeGreaterThan(100);
    }
  });

  it('carries argon2 for both Lambda architectures: an x86-64 and an AArch64 ELF object', () => {
    const { dir } = inject('lambdaArtifact');
    const machine = (pkg: string, file: string) => readFileSync(join(dir, 'node_modules/@node-rs', pkg, file)).readUInt16LE(18);
    expect(machine('argon2-linux-x64-gnu', 'argon2.linux-x64-gnu.node')).toBe(0x3e);
    expect(machine('argon2-linux-arm64-gnu', 'argon2.linux-arm64-gnu.node')).toBe(0xb7);
  });
});

describe('API Gateway REST (payload 1.0)', () => {
  it('signup is a 201 with Location; the same again is a 409 with the seed text, and one row', async () => {
    const body = signupBody();
    const created = await send(plain, REST_NO_AUTH, { method: 'POST', path: '/api/users', json: body });
    expect(created.status).toBe(201);
    expect(created.headers.location).toBe(`/api/users/${created.body.data.id}`);
    expect(created.body.data).toMatchObject({ username: body.username, email: body.email, nickname: '람다' });
    // The fixture came with multiValueHeaders, so the answer uses them too.
    expect(created.raw.multiValueHeaders['content-type']).toEqual(['application/json']);

    const again = await send(plain, REST_NO_AUTH, { method: 'POST', path: '/api/users', json: body });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({
      status: 'Failed',
      code: 'DUPLICATE_RESOURCE',
      field: 'username',
      message: '[Conflict] 이미 존재하는 username입니다',
    });
    if (plain.db) {
      const rows = await plain.db.selectFrom('users').select('id').where('username', '=', body.username).execute();
      expect(rows).toEqual([{ id: created.body.data.id }]);
    }
  });

  it('login sets the cookie through multiValueHeaders, and the cookie header authenticates', async () => {
    const body = signupBody();
    await send(plain, REST_DEVGUIDE, { method: 'POST', path: '/api/users', json: body });
    const login = await logIn(plain, REST_DEVGUIDE, body.username);
    expect(login.status).toBe(201);
    const token = login.body.data.token as string;
    // API Gateway is https, so COOKIE_SECURE=auto makes the cookie Secure, with the __Host- prefix.
    expect(login.raw.multiValueHeaders['set-cookie']).toEqual([
      `__Host-sid=${token}; Max-Age=604800; Path=/; HttpOnly; Secure; SameSite=Lax`,
    ]);
    const me = await send(plain, REST_DEVGUIDE, { method: 'GET', path: '/api/users/me', cookies: [`__Host-sid=${token}`] });
    expect(me.status).toBe(200);
    expect(me.body.data.username).toBe(body.username);
  });

  it('the console test event (headers null) routes; a body without Content-Type is a 415', async () => {
    for (const name of [REST_CONSOLE, REST_CONSOLE_RUST]) {
      const free = await send(plain, name, { method: 'GET', path: `/api/users/availability?username=${uniqueName('free')}` });
      expect(free.status).toBe(200);
      expect(free.body.data.available).toBe(true);
      const untyped = await send(plain, name, { method: 'POST', path: '/api/users', body: JSON.stringify(signupBody()) });
      expect(untyped.status).toBe(415);
      expect(untyped.body.code).toBe('UNSUPPORTED_MEDIA_TYPE');
    }
  });

  it('a body flagged base64 that is not base64 is a 400 INVALID_JSON, not a 500; nothing is written', async () => {
    const event = lambdaEvent(REST_BAD_BASE64, { method: 'POST', path: '/api/users', headers: { 'content-type': 'application/json' } });
    // The fixture's own body and flag: "Hello from Lambda!" marked as base64.
    const original = fixture(REST_BAD_BASE64);
    const res = await plain.container.invoke({ ...event, body: original.body, isBase64Encoded: original.isBase64Encoded });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      status: 'Failed',
      code: 'INVALID_JSON',
      message: '[Bad Request] 요청 본문이 base64로 표시되어 있지만 올바른 base64가 아닙니다.',
    });
    expect(res.body.requestId).toMatch(/^[0-9a-f-]{36}$/);
    if (plain.db) expect(await plain.db.selectFrom('users').select('id').where('nickname', '=', 'Hello').execute()).toEqual([]);
  });

  it('the client address is requestContext.identity.sourceIp; X-Forwarded-For cannot move it', async () => {
    const event = (ip: string, forwardedFor: string) => {
      const e = lambdaEvent(REST_NO_AUTH, {
        method: 'GET',
        path: `/api/users/availability?username=${uniqueName('ip')}`,
        headers: { 'x-forwarded-for': forwardedFor },
      });
      e.requestContext.identity.sourceIp = ip;
      return e;
    };
    const statuses = async (ip: string) => {
      const out: number[] = [];
      for (let i = 0; i < 3; i++) out.push((await trusting.container.invoke(event(ip, `10.0.0.${i}`))).status);
      return out;
    };
    expect(await statuses('198.51.100.7')).toEqual([200, 200, 429]);
    expect(await statuses('198.51.100.8')).toEqual([200, 200, 429]);
  });
});

describe('API Gateway HTTP API (payload 2.0)', () => {
  it('signup, duplicate, login: Set-Cookie goes in the cookies array, and cookies in authenticate', async () => {
    const body = signupBody();
    const created = await send(plain, HTTP_JSON, { method: 'POST', path: '/api/users', json: body });
    expect(created.status).toBe(201);
    const again = await send(plain, HTTP_JSON, { method: 'POST', path: '/api/users', json: { ...body, username: uniqueName('other') } });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'DUPLICATE_RESOURCE', field: 'email', message: '[Conflict] 이미 존재하는 email입니다' });

    const login = await logIn(plain, HTTP_JSON, body.email);
    expect(login.status).toBe(201);
    const token = login.body.data.token as string;
    expect(login.raw.cookies).toEqual([`__Host-sid=${token}; Max-Age=604800; Path=/; HttpOnly; Secure; SameSite=Lax`]);
    expect(login.raw.headers['set-cookie']).toBeUndefined();

    const fixtureCookies = lambdaEvent(HTTP_COOKIES, { method: 'GET', path: '/' }).cookies as string[];
    const me = await send(plain, HTTP_COOKIES, {
      method: 'GET',
      path: '/api/users/me',
      cookies: [...fixtureCookies, `__Host-sid=${token}`],
    });
    expect(me.status).toBe(200);
    expect(me.body.data).toMatchObject({ id: created.body.data.id, email: body.email });

    const logout = await send(plain, HTTP_COOKIES, {
      method: 'DELETE',
      path: '/api/sessions/current',
      cookies: [`__Host-sid=${token}`],
      headers: { origin: `https://${lambdaEvent(HTTP_COOKIES, { method: 'GET', path: '/' }).requestContext.domainName}` },
    });
    expect(logout.status).toBe(204);
    expect(logout.raw.cookies).toEqual(['__Host-sid=; Max-Age=0; Path=/; HttpOnly; Secure; SameSite=Lax']);
  });

  it('a named stage prefixes rawPath (/default/...): it still routes; $default has no prefix', async () => {
    const name = uniqueName('stage');
    const staged = await send(plain, HTTP_NAMED_STAGE, { method: 'GET', path: `/default/api/users/availability?username=${name}` });
    expect(staged.status).toBe(200);
    expect(staged.body.data).toEqual({ field: 'username', value: name, available: true });
    const health = await send(plain, HTTP_NAMED_STAGE, { method: 'GET', path: '/default/health/live' });
    expect(health.status).toBe(200);
    const unstaged = await send(plain, HTTP_JSON, { method: 'GET', path: '/default/health/live' });
    expect(unstaged.status).toBe(404);
  });

  it('a body flagged base64 that is not base64 is a 400 INVALID_JSON (the fixture as it is, re-aimed)', async () => {
    const event = lambdaEvent(HTTP_BAD_BASE64, { method: 'POST', path: '/api/users', headers: { 'content-type': 'application/json' } });
    const original = fixture(HTTP_BAD_BASE64);
    const res = await plain.container.invoke({ ...event, body: original.body, isBase64Encoded: original.isBase64Encoded });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('INVALID_JSON');
    expect(res.headers['content-type']).toBe('application/json');
  });

  it('a base64 body is decoded', async () => {
    const body = signupBody();
    const res = await send(plain, HTTP_JSON, { method: 'POST', path: '/api/users', json: body, base64: true });
    expect(res.status).toBe(201);
    expect(res.body.data.username).toBe(body.username);
  });
});

describe('ALB', () => {
  it('multi-value headers: signup 201, duplicate 409, login cookie in multiValueHeaders', async () => {
    const body = signupBody();
    const created = await send(plain, ALB_MULTI, { method: 'POST', path: '/api/users', json: body });
    expect(created.status).toBe(201);
    expect(created.raw.multiValueHeaders.location).toEqual([`/api/users/${created.body.data.id}`]);
    const again = await send(plain, ALB_MULTI, { method: 'POST', path: '/api/users', json: body });
    expect(again.status).toBe(409);
    // This captured event asks for English (Accept-Language: en-US,en;q=0.9).
    expect(again.body).toMatchObject({ code: 'DUPLICATE_RESOURCE', field: 'username', message: '[Conflict] This username already exists' });
    const login = await logIn(plain, ALB_MULTI, body.username);
    expect(login.raw.multiValueHeaders['set-cookie']).toHaveLength(1);
    // This ALB listener is plain http (X-Forwarded-Proto: http): a Secure cookie would be refused.
    expect(login.raw.multiValueHeaders['set-cookie'][0]).toMatch(
      /^sid=[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}; Max-Age=604800; Path=\/; HttpOnly; SameSite=Lax$/,
    );
  });

  it('single-value headers: a query routes, and a base64 body (the fixture is one) is decoded', async () => {
    const free = await send(plain, ALB_SINGLE, { method: 'GET', path: `/api/users/availability?username=${uniqueName('alb')}` });
    expect(free.status).toBe(200);
    expect(free.raw.headers['content-type']).toBe('application/json');
    const body = signupBody();
    const created = await send(plain, ALB_BASE64, { method: 'POST', path: '/api/users', json: body, base64: true });
    expect(created.status).toBe(201);
    const token = (await logIn(plain, ALB_BASE64, body.username)).body.data.token as string;
    const me = await send(plain, ALB_BASE64, { method: 'GET', path: '/api/users/me', headers: { authorization: `Bearer ${token}` } });
    expect(me.body.data.id).toBe(created.body.data.id);
  });
});

describe('dot-segments in the event path', () => {
  const KINDS = [
    ['REST (1.0)', REST_NO_AUTH],
    ['HTTP API (2.0)', HTTP_JSON],
    ['ALB', ALB_SINGLE],
  ] as const;
  const CASES = KINDS.flatMap(([kind, name]) => DOT_SEGMENT_PATHS.map((path) => [kind, path, name] as const));

  let token: string;
  beforeAll(async () => {
    const body = signupBody();
    expect((await send(plain, REST_NO_AUTH, { method: 'POST', path: '/api/users', json: body })).status).toBe(201);
    token = (await logIn(plain, REST_NO_AUTH, body.username)).body.data.token as string;
  });
  const headers = () => ({ authorization: `Bearer ${token}`, 'accept-language': 'en' });

  it('covers 12 shapes in each of the 3 event kinds', () => {
    expect(CASES).toHaveLength(36);
  });

  it.each(CASES)('%s: %s is a 404 NOT_FOUND_RESOURCE, never a resolved route', async (_kind, path, name) => {
    const res = await send(plain, name, { method: 'GET', path, headers: headers() });
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({
      status: 'Failed',
      code: 'NOT_FOUND_RESOURCE',
      message: '[Not Found] The requested resource was not found.',
    });
    expect(res.body.field).toBeUndefined();
    expect(res.body.data).toBeUndefined();
  });

  it.each(KINDS)('%s: the same routes without dot-segments answer, and dots in the query are not a path', async (_kind, name) => {
    const me = await send(plain, name, { method: 'GET', path: '/api/users/me', headers: headers() });
    expect(me.status).toBe(200);
    const projects = await send(plain, name, { method: 'GET', path: '/api/projects', headers: headers() });
    expect(projects.status).toBe(200);
    const query = await send(plain, name, { method: 'GET', path: '/api/users/availability?username=..', headers: headers() });
    expect(query.status).toBe(400);
    expect(query.body).toMatchObject({ code: 'VALIDATION_FAILED', field: 'username' });
  });
});

describe('gateway identity (TRUST_GATEWAY_AUTH)', () => {
  it('off: the claims are ignored entirely; a 401 without a session, and no user is created', async () => {
    const rest = await send(plain, REST_COGNITO, { method: 'GET', path: '/api/users/me' });
    const http = await send(plain, HTTP_JWT, { method: 'GET', path: '/api/users/me' });
    for (const res of [rest, http]) {
      expect(res.status).toBe(401);
      expect(res.body).toMatchObject({ code: 'UNAUTHENTICATED', message: '[Unauthorized] 로그인이 필요합니다.' });
    }
    if (plain.db) expect(await plain.db.selectFrom('user_identities').selectAll().execute()).toEqual([]);
  });

  it('on: REST claims name the caller; the user is created once, from cognito:username, and HTTP API JWT claims of the same issuer + sub are the same user', async () => {
    const first = await send(trusting, REST_COGNITO, { method: 'GET', path: '/api/users/me' });
    expect(first.status).toBe(200);
    expect(first.body.data).toMatchObject({ username: 'aamorosi', nickname: 'aamorosi', email: null });
    const second = await send(trusting, REST_COGNITO, { method: 'GET', path: '/api/users/me' });
    const viaHttpApi = await send(trusting, HTTP_JWT, { method: 'GET', path: '/api/users/me' });
    expect(second.body.data.id).toBe(first.body.data.id);
    expect(viaHttpApi.body.data.id).toBe(first.body.data.id);

    const project = await send(trusting, HTTP_JWT, { method: 'POST', path: '/api/projects', json: { title: 'Gateway project' } });
    expect(project.status).toBe(201);
    const duplicate = await send(trusting, REST_COGNITO, { method: 'POST', path: '/api/projects', json: { title: ' gateway PROJECT ' } });
    expect(duplicate.status).toBe(409);
    expect(duplicate.body).toMatchObject({
      code: 'DUPLICATE_RESOURCE',
      field: 'title',
      message: '[Conflict] 동일한 이름의 프로젝트가 이미 존재합니다.',
      conflict: { id: project.body.data.id },
    });
    if (trusting.db) {
      const identities = await trusting.db.selectFrom('user_identities').select(['issuer', 'subject', 'user_id']).execute();
      expect(identities).toEqual([{ issuer: COGNITO_ISSUER, subject: COGNITO_SUB, user_id: first.body.data.id }]);
    }
  });

  it('on: claims without a sub name nobody (401); a session token still works beside the setting', async () => {
    const res = await send(trusting, REST_COGNITO_NO_SUB, { method: 'GET', path: '/api/users/me' });
    expect(res.status).toBe(401);
    const body = signupBody();
    await send(trusting, REST_NO_AUTH, { method: 'POST', path: '/api/users', json: body });
    const token = (await logIn(trusting, REST_NO_AUTH, body.username)).body.data.token as string;
    const me = await send(trusting, REST_NO_AUTH, { method: 'GET', path: '/api/users/me', headers: { authorization: `Bearer ${token}` } });
    expect(me.body.data.username).toBe(body.username);
  });

  it('on: a taken username is made unique; a free email from the claims is taken, a taken one left out', async () => {
    const claimed = (sub: string, claims: Record<string, unknown>) => {
      const event = lambdaEvent(HTTP_JWT, { method: 'GET', path: '/api/users/me' });
      Object.assign(event.requestContext.authorizer.jwt.claims, { sub, ...claims });
      delete event.requestContext.authorizer.jwt.claims['cognito:username'];
      return trusting.container.invoke(event);
    };
    const holder = signupBody();
    await send(trusting, REST_NO_AUTH, { method: 'POST', path: '/api/users', json: holder });

    const clash = await claimed(`sub-${uniqueName()}`, { preferred_username: ` ${holder.username.toUpperCase()} `, email: holder.email });
    expect(clash.status).toBe(200);
    expect(clash.body.data.username).toMatch(new RegExp(`^${holder.username}-[0-9a-f]{6}$`));
    expect(clash.body.data.email).toBeNull();

    const freeEmail = `${uniqueName('mail')}@example.com`;
    const fresh = await claimed(`sub-${uniqueName()}`, {
      preferred_username: 'Ada Lovelace!',
      email: freeEmail.toUpperCase(),
      name: '에이다',
    });
    expect(fresh.body.data).toMatchObject({ username: 'ada-lovelace', email: freeEmail, nickname: '에이다' });
    const unverified = await claimed(`sub-${uniqueName()}`, {
      preferred_username: 'admin',
      email: `${uniqueName('u')}@example.com`,
      email_verified: 'false',
    });
    expect(unverified.body.data.username).toMatch(/^admin-[0-9a-f]{6}$/);
    expect(unverified.body.data.email).toBeNull();
  });

  it.runIf(onPostgres())('on: fifty first requests of one new identity, on five containers at once, make one user', async () => {
    const { db, url } = trusting;
    if (!db || url === undefined) throw new Error('expected PostgreSQL');
    const containers = await Promise.all(
      Array.from({ length: 5 }, () => startContainer({ DATABASE_URL: url, TRUST_GATEWAY_AUTH: 'true' })),
    );
    try {
      const event = lambdaEvent(HTTP_JWT, { method: 'GET', path: '/api/users/me' });
      event.requestContext.authorizer.jwt.claims.sub = `race-${uniqueName()}`;
      event.requestContext.authorizer.jwt.claims['cognito:username'] = 'racer';
      const results = await Promise.all(containers.flatMap((c) => Array.from({ length: 10 }, () => c.invoke(event))));
      expect(results.map((r) => r.status)).toEqual(Array(50).fill(200));
      const ids = new Set(results.map((r) => r.body.data.id));
      expect(ids.size).toBe(1);
      const rows = await db
        .selectFrom('user_identities')
        .select('user_id')
        .where('subject', '=', event.requestContext.authorizer.jwt.claims.sub)
        .execute();
      expect(rows).toEqual([{ user_id: [...ids][0] }]);
      expect(await db.selectFrom('users').select('id').where('username', 'like', 'racer%').execute()).toHaveLength(1);
    } finally {
      await Promise.all(containers.map((c) => c.stop()));
    }
  });
});

describe.runIf(onPostgres())('schema on PostgreSQL', () => {
  it('a cold start does not migrate: 503 naming the cause until `npm run migrate` has run, then it serves without a restart', async () => {
    const admin = inject('testDatabase');
    if (admin.kind !== 'postgres') throw new Error('expected PostgreSQL');
    const name = `projects_api_empty_${uniqueName().slice(0, 12)}`;
    await runStatement(admin.adminUrl, `create database ${name}`);
    const url = databaseUrl(admin.appUrl, name);
    const container = await startContainer({ DATABASE_URL: url });
    try {
      const before = await container.invoke(lambdaEvent(HTTP_JSON, { method: 'POST', path: '/api/users', json: signupBody() }));
      expect(before.status).toBe(503);
      expect(before.headers['retry-after']).toBe('2');
      expect(before.body).toMatchObject({
        code: 'SERVICE_UNAVAILABLE',
        message: '[Service Unavailable] 데이터베이스 스키마가 최신이 아닙니다. 마이그레이션(npm run migrate)이 필요합니다.',
      });
      expect(
        container.logs.some(
          (l) =>
            l.msg === 'the database schema is not current: run `npm run migrate`' && Array.isArray(l.pending) && l.pending.length === 10,
        ),
      ).toBe(true);

      const output = execFileSync(process.execPath, ['dist/migrate.mjs'], {
        env: { PATH: process.env.PATH, DATABASE_URL: url },
        encoding: 'utf8',
      });
      expect(output).toBe(
        `${url}: applied 0001_users_sessions_projects, 0002_idempotency_keys, 0003_rate_limits, 0004_projects_live_listing, 0005_gateway_identities, 0006_projects_live_listing_pg17, 0007_idempotency_outcomes_only, 0008_unicode_canonical_keys, 0009_distributable_keys, 0010_verified_emails_held_usernames\n`,
      );
      const again = execFileSync(process.execPath, ['dist/migrate.mjs'], {
        env: { PATH: process.env.PATH, DATABASE_URL: url },
        encoding: 'utf8',
      });
      expect(again).toBe(`${url}: schema already current\n`);

      const after = await container.invoke(lambdaEvent(HTTP_JSON, { method: 'POST', path: '/api/users', json: signupBody() }));
      expect(after.status).toBe(201);
    } finally {
      await container.stop();
      await runStatement(admin.adminUrl, `drop database if exists ${name} with (force)`);
    }
  });

  it('an embedded PGlite database is migrated at cold start (the demo mode)', async () => {
    const container = await startContainer({ DATABASE_URL: 'pglite://memory' });
    try {
      const res = await container.invoke(lambdaEvent(HTTP_JSON, { method: 'POST', path: '/api/users', json: signupBody() }));
      expect(res.status).toBe(201);
    } finally {
      await container.stop();
    }
  });
});

/** The event an EventBridge schedule sends (the shape of the Lambda developer guide's example). */
const SCHEDULED_EVENT = {
  version: '0',
  id: '53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa',
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '123456789012',
  time: '2015-10-08T16:53:06Z',
  region: 'us-east-1',
  resources: ['arn:aws:events:us-east-1:123456789012:rule/my-scheduled-rule'],
  detail: {},
};

/** One expired and one current idempotency key and rate-limit counter. */
async function seedExpiredAndCurrent(db: Kysely<DB>): Promise<void> {
  await sql`insert into idempotency_keys (scope_id, key, fingerprint, created_at, response_status, response_headers, response_body) values
    (${anonymousScope('203.0.113.9')}, 'expired', 'f', now() - interval '25 hours', 201, '{}', ''),
    (${anonymousScope('203.0.113.9')}, 'current', 'f', now(), 201, '{}', '')`.execute(db);
  await sql`insert into rate_limits (bucket, window_start, hit_at, hits) values
    ('signup:expired', now() - interval '2 days', now() - interval '2 days', 3),
    ('signup:current', now(), now(), 1)`.execute(db);
  await seedDeadAndLiveSessions(db);
}

async function remaining(db: Kysely<DB>): Promise<{ keys: string[]; counters: string[]; sessions: string[] }> {
  const keys = await db.selectFrom('idempotency_keys').select('key').orderBy('key').execute();
  const counters = await db.selectFrom('rate_limits').select('bucket').orderBy('bucket').execute();
  return { keys: keys.map((r) => r.key), counters: counters.map((r) => r.bucket), sessions: await remainingSessions(db) };
}

describe('maintenance (the schedule in template.yaml)', () => {
  it('template.yaml invokes the function hourly with an EventBridge schedule', () => {
    const template = readFileSync('template.yaml', 'utf8');
    expect(template).toMatch(/\n {8}Maintenance:\n {10}Type: Schedule\n {10}Properties:\n {12}Schedule: rate\(1 hour\)\n/);
  });

  it('a scheduled event purges the expired idempotency key, rate-limit counter and sessions, and keeps the current ones', async () => {
    const expected = { keys: ['current'], counters: ['signup:current'], sessions: LIVE_SEEDED_SESSIONS };
    if (onPostgres()) {
      const testDb = await openTestDatabase();
      await seedExpiredAndCurrent(testDb.database.db);
      const container = await startContainer({ DATABASE_URL: testDb.url ?? '' });
      try {
        const result = await container.invoke(SCHEDULED_EVENT);
        expect(result.raw).toEqual({ keys: 1, counters: 1, sessions: 4 });
        expect(await remaining(testDb.database.db)).toEqual(expected);
      } finally {
        await container.stop();
        await testDb.close();
      }
      return;
    }
    // PGlite: one process at a time may open a data directory, so the test and the container take turns.
    const dir = mkdtempSync(join(tmpdir(), 'projects-api-maintenance-'));
    try {
      const url = `pglite://${dir}`;
      const seeding = await createDb(url);
      await migrate(seeding.db);
      await seedExpiredAndCurrent(seeding.db);
      await seeding.close();
      const container = await startContainer({ DATABASE_URL: url });
      try {
        expect((await container.invoke(SCHEDULED_EVENT)).raw).toEqual({ keys: 1, counters: 1, sessions: 4 });
      } finally {
        await container.stop();
      }
      const checking = await createDb(url);
      try {
        expect(await remaining(checking.db)).toEqual(expected);
      } finally {
        await checking.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
