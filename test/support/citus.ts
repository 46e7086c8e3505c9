import { connectClient, runStatement } from './pg-client.ts';
import { databaseUrl } from './postgres-url.ts';

/**
 * The workers of the Citus cluster whose coordinator `adminUrl` reaches, as URLs with the same
 * user; undefined when the server has no citus extension (plain PostgreSQL).
 */
export async function citusWorkers(adminUrl: string): Promise<string[] | undefined> {
  const client = await connectClient(adminUrl);
  try {
    const { rows } = await client.query<{ citus: boolean }>(`select exists (select 1 from pg_extension where extname = 'citus') as citus`);
    if (!rows[0]?.citus) return undefined;
    const workers = await client.query<{ node_name: string; node_port: number }>(
      'select node_name, node_port from citus_get_active_worker_nodes() order by node_port',
    );
    return workers.rows.map((w) => {
      const url = new URL(adminUrl);
      url.hostname = w.node_name;
      url.port = String(w.node_port);
      return url.toString();
    });
  } finally {
    await client.end();
  }
}

/**
 * Creates database `name` on the coordinator and on every worker, with the citus extension in
 * each and the workers registered in the coordinator's copy: an empty distributed database, which
 * migrations then distribute. Citus copies no template database across nodes, so each test file
 * migrates its own.
 */
export async function createCitusDatabase(adminUrl: string, workers: string[], name: string): Promise<void> {
  for (const node of [adminUrl, ...workers]) {
    await runStatement(node, `create database ${name}`);
    await runStatement(databaseUrl(node, name), 'create extension citus');
  }
  const coordinator = new URL(adminUrl);
  const client = await connectClient(databaseUrl(adminUrl, name));
  try {
    await client.query('select citus_set_coordinator_host($1, $2)', [coordinator.hostname, Number(coordinator.port || 5432)]);
    for (const worker of workers) {
      const url = new URL(worker);
      await client.query('select citus_add_node($1, $2)', [url.hostname, Number(url.port || 5432)]);
    }
  } finally {
    await client.end();
  }
}

/** Drops database `name` from every node, ending the connections still open to it. */
export async function dropCitusDatabase(adminUrl: string, workers: string[], name: string): Promise<void> {
  for (const node of [adminUrl, ...workers]) await runStatement(node, `drop database if exists ${name} with (force)`);
}

/** Whether a plan is Citus's, executed as one task on one worker: a single-shard router query. */
export function isSingleShardPlan(plan: string): boolean {
  return /Custom Scan \(Citus Adaptive\)/.test(plan) && /Task Count: 1\b/.test(plan);
}
