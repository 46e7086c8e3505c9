import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import fc from 'fast-check';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/harness.ts';

// ajv-formats is CommonJS; its default export arrives wrapped under ESM.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

/** Cases per operation; raise with FUZZ_RUNS for a longer hunt. A failure prints its seed and path for replay. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 200);

interface Operation {
  method: string;
  path: string;
  spec: {
    parameters?: { name: string; in: string }[];
    requestBody?: { content: Record<string, { schema: unknown }> };
    responses: Record<string, { content?: Record<string, { schema: unknown }> }>;
  };
}

let t: TestApp;
let doc: { paths: Record<string, Record<string, Operation['spec']>>; components: { schemas: Record<string, unknown> } };
let ajv: Ajv2020;
let token: string;
let ownId: string;
let otherId: string;
let projectId: string;
const validators = new Map<string, ValidateFunction>();

function rewriteRefs(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', '"openapi#/components/schemas/')) as unknown;
}

function validatorFor(key: string, schema: unknown): ValidateFunction {
  let validate = validators.get(key);
  if (!validate) {
    validate = ajv.compile(rewriteRefs(schema) as object);
    validators.set(key, validate);
  }
  return validate;
}

/** What the database holds, to show a 4xx wrote nothing (session activity and bookkeeping tables aside). */
async function snapshot(): Promise<string> {
  const { rows } = await sql<{ users: string; projects: string; sessions: number }>`
    select
      (select md5(coalesce(string_agg(u::text, ',' order by u.id), '')) from users u) as users,
      (select md5(coalesce(string_agg(p::text, ',' order by p.id), '')) from projects p) as projects,
      (select count(*)::int from sessions) as sessions`.execute(t.db);
  return JSON.stringify(rows[0]);
}

function encodePathSegment(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return '%ED%A0%80';
  }
}

const nasty = fc.constantFrom(
  '',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  '😀'.repeat(80),
  'x'.repeat(5000),
  ' ',
  '../../etc/passwd',
  "' or 1=1 --",
  '<script>alert(1)</script>',
  '%00',
  'ＡＤＭＩＮ',
  'аdmin',
  '1e999',
  '-0',
  'NaN',
  '{}',
);
const anyString = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), nasty);
const anyValue = fc.oneof(
  anyString,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant(1e308),
  fc.constant(-1),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }),
);

// Values that pass validation for the field they are named after, so cases reach the success paths.
const plausible: Record<string, fc.Arbitrary<unknown>> = {
  username: fc.stringMatching(/^[a-z][a-z0-9]{2,12}$/),
  login: fc.stringMatching(/^[a-z][a-z0-9]{2,12}$/),
  email: fc.stringMatching(/^[a-z]{3,8}@[a-z]{3,6}\.io$/),
  password: fc.stringMatching(/^[a-z0-9]{8,16}$/),
  currentPassword: fc.stringMatching(/^[a-z0-9]{8,16}$/),
  nickname: fc.string({ minLength: 1, maxLength: 20 }),
  title: fc.string({ minLength: 1, maxLength: 40 }),
  description: fc.oneof(fc.string({ maxLength: 40 }), fc.constant(null)),
  limit: fc.integer({ min: 1, max: 100 }).map(String),
  deleted: fc.constantFrom('exclude', 'include', 'only'),
};
const valueFor = (name: string) => (plausible[name] ? fc.oneof(plausible[name], anyValue) : anyValue);

function deepNesting(depth: number): string {
  return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
}

/** Request bodies: near-valid objects with hostile values, arbitrary JSON, and raw malformed text. */
function bodies(properties: string[]): fc.Arbitrary<string> {
  const nearValid = fc
    .record(Object.fromEntries(properties.map((p) => [p, valueFor(p)])), { requiredKeys: [] })
    .map((o) => JSON.stringify(o));
  return fc.oneof(
    { weight: 5, arbitrary: nearValid },
    { weight: 2, arbitrary: fc.jsonValue().map((v) => JSON.stringify(v)) },
    { weight: 1, arbitrary: fc.string() },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        deepNesting(5000),
        '{"title":1e999}',
        '{"title":"\\ud800"}',
        '{"title":"\\u0000"}',
        '[',
        '{"a":}',
        '\u0000',
      ),
    },
  );
}

const headerValue = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 300 });

function operations(): Operation[] {
  return Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, spec]) => ({ method, path, spec })));
}

beforeAll(async () => {
  t = await startTestApp();
  const owner = await t.newUser();
  const other = await t.signUp();
  token = owner.token;
  ownId = owner.user.id;
  otherId = other.user.id;
  projectId = (await t.createProject(token, 'Fuzz target')).id;
  doc = (await t.request('GET', '/openapi.json')).body;
  ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
  ajv.addSchema({ components: doc.components }, 'openapi');
});
afterAll(() => t.close());

describe('fuzzing every operation of /openapi.json', () => {
  it('has operations to fuzz', () => {
    expect(operations().length).toBeGreaterThanOrEqual(15);
  });

  it.each([
    'post /api/users',
    'get /api/users/availability',
    'get /api/users/me',
    'get /api/users/{id}',
    'patch /api/users/{id}',
    'delete /api/users/{id}',
    'post /api/sessions',
    'get /api/sessions/current',
    'delete /api/sessions/current',
    'post /api/projects',
    'get /api/projects',
    'get /api/projects/{id}',
    'patch /api/projects/{id}',
    'delete /api/projects/{id}',
    'post /api/projects/{id}/restore',
    'get /health/live',
    'get /health/ready',
  ])('%s: no 5xx, failures in the envelope, successes as documented, a 4xx writes nothing', async (name) => {
    const op = operations().find((o) => `${o.method} ${o.path}` === name);
    expect(op, name).toBeDefined();
    const { method, path, spec } = op!;
    const bodySchema = spec.requestBody?.content['application/json']?.schema as { $ref?: string } | undefined;
    const bodyProps = bodySchema?.$ref
      ? Object.keys((doc.components.schemas[bodySchema.$ref.split('/').pop()!] as { properties: object }).properties)
      : [];
    const queryNames = (spec.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
    // Deleting the fuzzing user or its session would end the run early: the user route gets only
    // another user's id, and logout only tokens that are not the caller's.
    const ids = name === 'delete /api/users/{id}' ? [otherId] : [ownId, otherId, projectId];
    const auths = name === 'delete /api/sessions/current' ? ['none', 'garbage'] : ['token', 'token', 'token', 'none', 'garbage'];
    const queryValues = fc.dictionary(fc.oneof(fc.constantFrom(...queryNames, 'x'), fc.string({ maxLength: 5 })), anyString, {
      maxKeys: 3,
    });
    const plausibleQuery = fc
      .record(Object.fromEntries(queryNames.map((q) => [q, valueFor(q)])), { requiredKeys: [] })
      .map((o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'string' ? v : (JSON.stringify(v) ?? '')])));

    const requestCase = fc.record({
      id: fc.oneof(fc.constantFrom(...ids), fc.uuid(), anyString.map(encodePathSegment)),
      query: queryNames.length ? fc.oneof(plausibleQuery, queryValues) : queryValues,
      body: bodyProps.length || spec.requestBody ? bodies(bodyProps.length ? bodyProps : ['title']) : fc.constant(undefined),
      contentType: fc.constantFrom('application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', undefined),
      auth: fc.constantFrom(...auths),
      extra: fc.record(
        {
          'if-match': fc.oneof(fc.constantFrom('"1"', '*', 'W/"1"', '"99999999999999999999"'), headerValue),
          'idempotency-key': headerValue,
          'accept-language': headerValue,
          accept: fc.constantFrom('application/problem+json', '*/*', 'text/html'),
          'x-request-id': headerValue,
        },
        { requiredKeys: [] },
      ),
    });

    await fc.assert(
      fc.asyncProperty(requestCase, async (c) => {
        const url = `${path.replace('{id}', c.id)}?${new URLSearchParams(c.query).toString()}`;
        const headers: Record<string, string> = { ...c.extra };
        if (c.contentType && c.body !== undefined) headers['content-type'] = c.contentType;
        if (c.auth === 'token') headers.authorization = `Bearer ${token}`;
        if (c.auth === 'garbage') headers.authorization = 'Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
        const before = await snapshot();
        const res = await t.app.request(url, {
          method: method.toUpperCase(),
          headers,
          ...(c.body !== undefined && method !== 'get' && { body: c.body }),
        });
        const text = await res.text();
        const label = `${method.toUpperCase()} ${url} → ${res.status} ${text.slice(0, 300)}`;
        expect(res.status, label).toBeLessThan(500);
        if (res.status === 204 || res.status === 405) return;
        const type = res.headers.get('content-type') ?? '';
        const documented = spec.responses[String(res.status)];
        expect(documented, `undocumented status: ${label}`).toBeDefined();
        const media = type.startsWith('application/problem+json') ? 'application/problem+json' : 'application/json';
        const schema = documented!.content?.[media]?.schema;
        expect(schema, `no ${media} schema: ${label}`).toBeDefined();
        const validate = validatorFor(`${name} ${res.status} ${media}`, schema);
        expect(validate(JSON.parse(text)), `${label}\n${JSON.stringify(validate.errors)}`).toBe(true);
        if (res.status >= 400) expect(await snapshot(), `a ${res.status} wrote: ${label}`).toBe(before);
      }),
      { numRuns: RUNS },
    );
  });
});
