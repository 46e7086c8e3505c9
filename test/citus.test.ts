import { CompiledQuery, sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isSingleShardPlan } from './support/citus.ts';
import { onCitus, startTestApp, type TestApp } from './support/harness.ts';

// Only on a Citus cluster (TEST_DATABASE_URL naming its coordinator): where the migrations put
// each table, and that a request's writes are each one single-shard statement, on the caller's
// shard. The rest of the suite proves the same answers as on PostgreSQL.

let t: TestApp;
beforeAll(async () => {
  if (onCitus()) t = await startTestApp();
});
afterAll(() => t?.close());

async function ranFor(request: () => Promise<unknown>) {
  const before = t.testDb.statements.length;
  await request();
  return t.testDb.statements.slice(before);
}

async function explain(statement: { sql: string; parameters: readonly unknown[] }): Promise<string> {
  const { rows } = await t.db.executeQuery<{ 'QUERY PLAN': string }>(
    CompiledQuery.raw(`explain (costs off) ${statement.sql}`, [...statement.parameters]),
  );
  return rows.map((r) => r['QUERY PLAN']).join('\n');
}

/** The worker (host:port) a single-shard plan runs on. */
function node(plan: string): string | undefined {
  return /Node: host=(\S+) port=(\d+)/.exec(plan)?.slice(1).join(':');
}

describe.runIf(onCitus())('on Citus', () => {
  it('distributes the tables: users everywhere, a user’s projects, sessions and keys on one shard', async () => {
    const { rows } = await sql<{ table_name: string; citus_table_type: string; distribution_column: string; colocation_id: number }>`
      select table_name::text, citus_table_type, distribution_column, colocation_id from citus_tables order by 1`.execute(t.db);
    const byName = Object.fromEntries(rows.map((r) => [r.table_name, r]));
    expect(byName.users).toMatchObject({ citus_table_type: 'reference' });
    expect(byName.projects).toMatchObject({ citus_table_type: 'distributed', distribution_column: 'owner_id' });
    expect(byName.sessions).toMatchObject({ distribution_column: 'user_id', colocation_id: byName.projects!.colocation_id });
    expect(byName.idempotency_keys).toMatchObject({ distribution_column: 'scope_id', colocation_id: byName.projects!.colocation_id });
    expect(byName.user_identities).toMatchObject({ citus_table_type: 'distributed', distribution_column: 'subject' });
    expect(byName.rate_limits).toMatchObject({ citus_table_type: 'distributed', distribution_column: 'bucket' });
    expect(Object.keys(byName).sort()).toEqual(['idempotency_keys', 'projects', 'rate_limits', 'sessions', 'user_identities', 'users']);
  });

  it('a create is one single-shard statement, and so is the 409’s holder lookup', async () => {
    const { token } = await t.newUser();
    const created = await ranFor(() => t.request('POST', '/api/projects', { token, json: { title: 'Routed' } }));
    const insert = created.filter((s) => /^insert into "projects"/.test(s.sql));
    expect(insert).toHaveLength(1);
    expect(isSingleShardPlan(await explain(insert[0]!))).toBe(true);

    const conflict = await ranFor(async () => {
      const res = await t.request('POST', '/api/projects', { token, json: { title: 'routed' } });
      expect(res.status).toBe(409);
    });
    const projectStatements = conflict.filter((s) => /"projects"/.test(s.sql));
    expect(projectStatements).toHaveLength(2);
    for (const s of projectStatements) expect(isSingleShardPlan(await explain(s)), s.sql).toBe(true);
  });

  it('a keyed create writes the project and its outcome on one worker, in one transaction', async () => {
    const { token } = await t.newUser();
    const ran = await ranFor(async () => {
      const res = await t.request('POST', '/api/projects', { token, json: { title: 'Keyed' }, headers: { 'idempotency-key': 'k-citus' } });
      expect(res.status).toBe(201);
    });
    const keyed = ran.filter((s) => /^(insert|update|delete)\b/.test(s.sql));
    expect(keyed.map((s) => s.sql.split(' ').slice(0, 3).join(' '))).toEqual(['insert into "projects"', 'insert into "idempotency_keys"']);
    const plans = await Promise.all(keyed.map((s) => explain(s)));
    for (const plan of plans) expect(isSingleShardPlan(plan), plan).toBe(true);
    expect(new Set(plans.map(node)).size).toBe(1);
  });
});
