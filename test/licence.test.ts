import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/harness.ts';

const root = new URL('..', import.meta.url);

describe('the licence', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('is MIT in LICENSE, in package.json and in the OpenAPI document /docs renders', async () => {
    const licence = readFileSync(new URL('LICENSE', root), 'utf8');
    expect(licence.split('\n').slice(0, 3)).toEqual(['MIT License', '', 'Copyright (c) 2026 projects-api contributors']);
    const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as Record<string, unknown>;
    expect(pkg.license).toBe('MIT');
    expect(pkg).not.toHaveProperty('private');
    const doc = await t.request('GET', '/openapi.json');
    expect(doc.status).toBe(200);
    expect(doc.body.info.license).toEqual({ name: 'MIT', identifier: 'MIT' });
  });
});
