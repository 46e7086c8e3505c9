import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, ERRORS, REASON_PHRASES } from '../src/errors/codes.ts';
import { FIELD_ISSUE_TEXTS, LOCALES, SPECIFIC_TEXTS } from '../src/errors/messages.ts';
import { startTestApp, type TestApp } from './support/harness.ts';

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');

describe('the error registry', () => {
  it.each(ERROR_CODES)('%s has a status, a reason phrase, texts in every locale, and a README row', (code) => {
    const { status, text } = ERRORS[code];
    expect(REASON_PHRASES[status]).toEqual(expect.any(String));
    for (const locale of LOCALES) expect(text[locale].length).toBeGreaterThan(0);
    expect(readme).toContain(`| \`${code}\` | ${status} |`);
  });

  it('every field issue code is listed in the README', () => {
    for (const code of Object.keys(FIELD_ISSUE_TEXTS)) expect(readme).toContain(`\`${code}\``);
  });

  it('holds the seed texts of docs/spec.md §7 verbatim', () => {
    expect(SPECIFIC_TEXTS['duplicate.title'].ko).toBe('동일한 이름의 프로젝트가 이미 존재합니다.');
    expect(FIELD_ISSUE_TEXTS.required.ko.replace('{field}', 'title')).toBe('title 값이 필요합니다.');
    expect(FIELD_ISSUE_TEXTS.duplicate.ko.replace('{field}', 'username')).toBe('이미 존재하는 username입니다');
    expect(FIELD_ISSUE_TEXTS.duplicate.ko.replace('{field}', 'email')).toBe('이미 존재하는 email입니다');
    expect(ERRORS.DUPLICATE_RESOURCE.text.ko).toBe('이미 존재하는 값입니다');
    expect(ERRORS.RESOURCE_STATE_CONFLICT.text.ko).toBe('요청 충돌이 발생했습니다.');
    expect(ERRORS.INTERNAL_ERROR.text).toEqual({ ko: '서버 내부 오류가 발생했습니다.', en: 'Internal server error' });
  });
});

describe('/openapi.json', () => {
  it('is OpenAPI 3.1 with every route, its error responses, and every error code', async () => {
    const res = await t.request('GET', '/openapi.json');
    expect(res.status).toBe(200);
    const doc = res.body;
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/api/email-verifications/{token}',
      '/api/password-resets',
      '/api/password-resets/{token}',
      '/api/projects',
      '/api/projects/{id}',
      '/api/projects/{id}/restore',
      '/api/sessions',
      '/api/sessions/current',
      '/api/users',
      '/api/users/availability',
      '/api/users/me',
      '/api/users/me/email-verifications',
      '/api/users/{id}',
      '/health/live',
      '/health/ready',
    ]);
    expect(doc.components.schemas.Error.properties.code.enum).toEqual([...ERROR_CODES]);
    const create = doc.paths['/api/projects'].post;
    expect(Object.keys(create.responses).sort()).toEqual(['201', '400', '401', '403', '409', '413', '415', '422', '500', '503']);
    expect(create.parameters).toEqual([expect.objectContaining({ name: 'idempotency-key', in: 'header', required: false })]);
    expect(create.responses['409'].content['application/problem+json'].schema.$ref).toBe('#/components/schemas/Problem');
    expect(doc.components.schemas.ProjectCreateRequest).toMatchObject({
      required: ['title'],
      properties: { title: { type: 'string', minLength: 1, maxLength: 100 }, description: { maxLength: 2000 } },
    });
    expect(doc.components.schemas.SignupRequest.properties.username).toMatchObject({
      minLength: 3,
      maxLength: 30,
      pattern: expect.any(String),
    });
    expect(doc.components.securitySchemes).toEqual({
      bearer: { type: 'http', scheme: 'bearer', description: expect.stringContaining('TRUST_GATEWAY_AUTH=true') },
    });
    expect(doc.components.securitySchemes.bearer.description).toContain('session cookie works too');
  });

  it('names, tags, describes and secures every operation, with its 4xx', async () => {
    const doc = (await t.request('GET', '/openapi.json')).body;
    expect(doc.servers).toEqual([{ url: '/', description: expect.any(String) }]);
    const tags = new Map(doc.tags.map((tag: { name: string; description: string }) => [tag.name, tag.description]));
    const operations = Object.entries<Record<string, any>>(doc.paths).flatMap(([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({ name: `${method} ${path}`, op })),
    );
    const ids = operations.map(({ op }) => op.operationId);
    expect(new Set(ids).size).toBe(operations.length);
    const publicOps = [
      'post /api/users',
      'get /api/users/availability',
      'post /api/sessions',
      'post /api/email-verifications/{token}',
      'post /api/password-resets',
      'post /api/password-resets/{token}',
      'get /health/live',
      'get /health/ready',
    ];
    // Answers with or without a session: `{}` is the alternative of no credentials.
    const optionalOps = ['get /api/sessions/current'];
    for (const { name, op } of operations) {
      expect(op.operationId, name).toMatch(/^[a-z]+(?:[A-Z][a-z]+)+$/);
      expect(op.description, name).toEqual(expect.any(String));
      for (const tag of op.tags) expect(tags.get(tag), `${name} tag ${tag}`).toEqual(expect.any(String));
      const security = publicOps.includes(name) ? [] : optionalOps.includes(name) ? [{ bearer: [] }, {}] : [{ bearer: [] }];
      expect(op.security, name).toEqual(security);
      expect(
        Object.keys(op.responses).some((status) => status.startsWith('4')),
        name,
      ).toBe(true);
      for (const [status, response] of Object.entries<any>(op.responses)) {
        if (Number(status) < 400) continue;
        expect(Object.keys(response.content), `${name} ${status}`).toEqual(['application/json', 'application/problem+json']);
        expect(doc.components.schemas.Problem.required, 'problem details carry the envelope members').toEqual(
          expect.arrayContaining(['code', 'message', 'requestId']),
        );
      }
    }
    expect(ids).toEqual(expect.arrayContaining(['createUser', 'checkAvailability', 'createSession', 'createProject']));
  });

  it('gives optional parameters no example but their default, so /docs pre-fills nothing that changes a request', async () => {
    const doc = (await t.request('GET', '/openapi.json')).body;
    for (const [path, methods] of Object.entries<Record<string, any>>(doc.paths)) {
      for (const [method, op] of Object.entries(methods)) {
        for (const param of op.parameters ?? []) {
          if (param.required) continue;
          const prefilled = param.example ?? param.schema?.example ?? param.schema?.default;
          expect(prefilled, `${method} ${path} ${param.name}`).toBe(param.schema?.default);
        }
      }
    }
  });

  it('documents only routes the app serves', async () => {
    const doc = (await t.request('GET', '/openapi.json')).body;
    for (const [path, methods] of Object.entries<Record<string, unknown>>(doc.paths)) {
      for (const method of Object.keys(methods)) {
        // Without a session or body every served route answers 200, 204 (nobody signed in), 400 or 401 before any lookup.
        const res = await t.request(method.toUpperCase(), path.replace('{id}', '00000000-0000-4000-8000-000000000000'));
        expect([200, 204, 400, 401], `${method} ${path}`).toContain(res.status);
      }
    }
  });
});

describe('/docs', () => {
  it('serves an interactive reference whose assets come from this server, not a CDN', async () => {
    const page = await t.request('GET', '/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.body).not.toMatch(/https?:\/\//);
    for (const asset of ['/docs/swagger-ui.css', '/docs/swagger-ui-bundle.js', '/docs/init.js', '/docs/favicon.svg']) {
      expect(page.body).toContain(asset);
      const res = await t.app.request(asset);
      expect(res.status, asset).toBe(200);
      expect((await res.arrayBuffer()).byteLength, asset).toBeGreaterThan(50);
    }
    expect(page.body).toContain('<link rel="icon" href="/docs/favicon.svg" type="image/svg+xml">');
    expect((await t.app.request('/docs/favicon.svg')).headers.get('content-type')).toBe('image/svg+xml');
  });
});
