import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onPostgres, startTestApp, type TestApp } from './support/harness.ts';

// One pooled connection, so the statements prepared before the migration are the ones run after it.
let t: TestApp;
beforeAll(async () => {
  t = await startTestApp({}, { max: 1, preparedStatements: true });
});
afterAll(() => t.close());

const PROJECT_FIELDS = ['createdAt', 'deletedAt', 'description', 'id', 'title', 'updatedAt', 'version'];

describe('prepared statements (DB_PREPARED_STATEMENTS=true) across a migration', () => {
  it('creates, reads, lists and keyed creates still answer after a column is added and after a returned column changes type', async () => {
    const { token } = await t.newUser();
    const exercise = async (title: string) => {
      const created = await t.request('POST', '/api/projects', { token, json: { title, description: `${title} text` } });
      expect(created.status).toBe(201);
      expect(Object.keys(created.body.data).sort()).toEqual(PROJECT_FIELDS);
      expect(created.body.data).toMatchObject({ title, description: `${title} text`, version: 1 });
      const read = await t.request('GET', `/api/projects/${created.body.data.id as string}`, { token });
      expect(read.status).toBe(200);
      expect(read.body.data).toEqual(created.body.data);
      const keyed = await t.request('POST', '/api/projects', {
        token,
        json: { title: `${title} keyed` },
        headers: { 'idempotency-key': `k-${title}` },
      });
      expect(keyed.status).toBe(201);
      expect(keyed.body.data.title).toBe(`${title} keyed`);
      const duplicate = await t.request('POST', '/api/projects', { token, json: { title } });
      expect(duplicate.status).toBe(409);
      expect(duplicate.body.conflict.id).toBe(created.body.data.id);
      const listed = await t.request('GET', '/api/projects?limit=100', { token });
      expect(listed.status).toBe(200);
      return listed.body.data.map((p: { title: string }) => p.title).sort() as string[];
    };

    const prepared = async () => {
      const { rows } = await sql<{
        name: string;
        statement: string;
      }>`select name, statement from pg_prepared_statements order by name`.execute(t.db);
      return rows;
    };
    expect(await exercise('before')).toEqual(['before', 'before keyed']);
    const before = await prepared();
    if (onPostgres()) expect(before.some((r) => r.statement.includes('insert into "projects"'))).toBe(true);

    await sql`alter table projects add column colour text not null default 'blue'`.execute(t.db);
    expect(await exercise('added')).toEqual(['added', 'added keyed', 'before', 'before keyed']);
    // Queries name their columns: the plans prepared before still serve, none was prepared again.
    expect(await prepared()).toEqual(before);

    // Changes the type of a returned column: PostgreSQL refuses the cached plans that return it.
    await sql`alter table projects alter column description type varchar(2000)`.execute(t.db);
    expect(await exercise('retyped')).toEqual(['added', 'added keyed', 'before', 'before keyed', 'retyped', 'retyped keyed']);

    const { rows } = await sql<{ n: number }>`select count(*)::int as n from projects where colour = 'blue'`.execute(t.db);
    expect(rows[0]?.n).toBe(6);
  });
});

describe('unnamed statements (the default)', () => {
  it('leaves nothing prepared on the server session, so any pooler may hand the session to another client', async () => {
    const plain = await startTestApp({}, { max: 1 });
    try {
      const { token } = await plain.newUser();
      expect((await plain.request('POST', '/api/projects', { token, json: { title: 'Unnamed' } })).status).toBe(201);
      expect((await plain.request('GET', '/api/projects', { token })).status).toBe(200);
      const { rows } = await sql<{ n: number }>`select count(*)::int as n from pg_prepared_statements`.execute(plain.db);
      expect(rows[0]?.n).toBe(0);
    } finally {
      await plain.close();
    }
  });
});
