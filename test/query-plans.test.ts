import { CompiledQuery, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { onCitus, startTestApp, type TestApp } from './support/harness.ts';

// The key project queries, exactly as the app ran them for an HTTP request, explained on a migrated
// database: each must be able to use its own index, and only that one (the partial-index
// predicates of src/db/index-predicates.ts decide which index a query may use).

let t: TestApp;
beforeAll(async () => {
  t = await startTestApp();
});
afterAll(() => t.close());

const PROJECT_INDEXES = ['projects_pkey', 'projects_owner_title_key', 'projects_owner_created', 'projects_owner_live_created'];

/** The statements the app ran for one request. */
async function ranFor(request: () => Promise<unknown>) {
  const before = t.testDb.statements.length;
  await request();
  return t.testDb.statements.slice(before);
}

/** The plan of `statement`, one line per node. */
async function plan(statement: { sql: string; parameters: readonly unknown[] }): Promise<string> {
  return t.db.transaction().execute(async (trx) => {
    // The tables hold a handful of rows, and a sequential scan of a page or two is cheaper than
    // any index: with it allowed, the plan would say nothing about which index the query can use.
    // On Citus the setting must reach the worker that plans the shard's query.
    if (onCitus()) await sql`set local citus.propagate_set_commands = 'local'`.execute(trx);
    await sql`set local enable_seqscan = off`.execute(trx);
    const { rows } = await trx.executeQuery<{ 'QUERY PLAN': string }>(
      CompiledQuery.raw(`explain ${statement.sql}`, [...statement.parameters]),
    );
    return rows.map((r) => r['QUERY PLAN']).join('\n');
  });
}

function expectOnly(explained: string, index: string): void {
  // On Citus the plan names a shard's copies: `<index>_<shard id>` on `projects_<shard id>`.
  expect(explained).toMatch(
    new RegExp(`(Index Scan|Index Only Scan) using ${index}(_\\d+)? on projects|Bitmap Index Scan on ${index}(_\\d+)?\\b`),
  );
  for (const other of PROJECT_INDEXES.filter((i) => i !== index)) expect(explained).not.toMatch(new RegExp(`\\b${other}\\b`));
}

describe('query plans of the key project queries', () => {
  it('the listing, the title conflict lookup and the read by id each use their own index', async () => {
    const { token } = await t.newUser();
    const alpha = await t.createProject(token, 'Alpha');
    const beta = await t.createProject(token, 'Beta');
    await t.request('DELETE', `/api/projects/${(await t.createProject(token, 'Gamma')).id}`, { token });

    const listing = await ranFor(() => t.request('GET', '/api/projects?limit=10', { token }));
    const listed = listing.find((s) => /^select .* from "projects"/s.test(s.sql));
    expect(listed?.sql).toMatch(/order by "created_at" desc, "id" desc limit/);
    expectOnly(await plan(listed!), 'projects_owner_live_created');

    const withDeleted = await ranFor(() => t.request('GET', '/api/projects?deleted=include', { token }));
    expectOnly(await plan(withDeleted.find((s) => /^select .* from "projects"/s.test(s.sql))!), 'projects_owner_created');

    // A rename onto a taken title: the UPDATE's unique violation, then the lookup of the holder.
    const rename = await ranFor(async () => {
      const res = await t.request('PATCH', `/api/projects/${beta.id}`, { token, json: { title: 'ALPHA' } });
      expect(res.status).toBe(409);
      expect(res.body.conflict.id).toBe(alpha.id);
    });
    const lookup = rename.find((s) => /^select "id" from "projects"/.test(s.sql));
    expect(lookup?.sql).toMatch(/"title_key" = \$\d/);
    expectOnly(await plan(lookup!), 'projects_owner_title_key');

    const read = await ranFor(() => t.request('GET', `/api/projects/${alpha.id}`, { token }));
    expectOnly(await plan(read.find((s) => /^select .* from "projects"/s.test(s.sql))!), 'projects_pkey');
  });
});
