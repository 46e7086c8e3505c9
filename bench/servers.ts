import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import pg from 'pg';
import { DATABASE_URL, ON_POSTGRES, ROOT } from './settings.ts';
import { citusWorkers, createCitusDatabase, dropCitusDatabase } from '../test/support/citus.ts';
import { databaseUrl } from '../test/support/postgres-url.ts';

// The processes under test and the database they share.

export interface ScratchDatabase {
  url: string;
  /** The PostgreSQL database's name, or PGlite's directory. */
  name: string;
  drop: () => Promise<void>;
}

/**
 * A scratch database on the same server (or a temporary PGlite directory, which survives the
 * server restarts between scenarios), so the run neither reads nor litters real data.
 */
export async function scratchDatabase(): Promise<ScratchDatabase> {
  if (!ON_POSTGRES) {
    const dir = mkdtempSync(join(tmpdir(), 'projects-api-bench-'));
    return { url: `pglite://${dir}`, name: dir, drop: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })) };
  }
  const name = `projects_api_bench_${process.pid}`;
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(DATABASE_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    name,
    drop: async () => {
      const again = new pg.Client({ connectionString: DATABASE_URL });
      await again.connect();
      await again.query(`drop database if exists ${name} with (force)`);
      await again.end();
    },
  };
}

/** A database of its own on every node of the Citus cluster whose coordinator `adminUrl` reaches. */
export async function citusScratch(adminUrl: string): Promise<ScratchDatabase> {
  const workers = await citusWorkers(adminUrl);
  if (!workers) throw new Error('BENCH_CITUS_URL names a database without the citus extension');
  const name = `projects_api_bench_citus_${process.pid}`;
  await createCitusDatabase(adminUrl, workers, name);
  return { url: databaseUrl(adminUrl, name), name, drop: () => dropCitusDatabase(adminUrl, workers, name) };
}

/** The peers as a user would run them: bundled and on plain node, like the service (no tsx hooks). */
export async function buildPeers(): Promise<void> {
  await build({
    entryPoints: ['bench/peers/hono.ts', 'bench/peers/fastify.ts', 'bench/bare-server.ts'].map((p) => join(ROOT, p)),
    outdir: join(ROOT, 'dist/bench'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outExtension: { '.js': '.mjs' },
    logLevel: 'warning',
  });
}

export function start(script: string, env: Record<string, string>, ready: string): Promise<ChildProcess> {
  const proc = spawn(process.execPath, [script], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    proc.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes(ready)) resolve(proc);
    });
    proc.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
}

export async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null) return;
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.kill('SIGTERM');
  await exited;
}
