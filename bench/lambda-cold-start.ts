import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { LambdaContainer } from '../test/support/lambda-container.ts';

// Lambda cold start, measured on the built artifact copied out of the repository: each run is a
// new process (a new container) that imports the handler, whose init opens the pool and checks the
// schema, then answers one request (an availability check: one query). Reported: the import
// (init included), the first response, their sum (the cold start), and the process's own start.
//
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm run bench:cold-start

const root = fileURLToPath(new URL('..', import.meta.url));
const ADMIN_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const PGLITE_RUNS = Number(process.env.BENCH_PGLITE_RUNS ?? 3);
const TARGET_MS = 300;

async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: ADMIN_URL });
  await client.connect();
  try {
    await client.query(statement);
  } finally {
    await client.end();
  }
}

function event(username: string): unknown {
  const text = readFileSync(join(root, 'test/fixtures/lambda-events/http-v2__powertools-ts__no-auth.json'), 'utf8');
  const e = JSON.parse(text);
  e.rawPath = '/api/users/availability';
  e.rawQueryString = `username=${username}`;
  e.requestContext.http.method = 'GET';
  delete e.body;
  return e;
}

interface Run {
  processStartMs: number;
  importMs: number;
  firstResponseMs: number;
  coldStartMs: number;
}

async function coldStart(location: { dir: string; handler: string }, databaseUrl: string, i: number): Promise<Run> {
  const spawned = performance.now();
  const container = await LambdaContainer.start(location, { DATABASE_URL: databaseUrl, LOG_LEVEL: 'warn' });
  const ready = performance.now();
  try {
    const begun = performance.now();
    const res = await container.invoke(event(`coldstart${i}`));
    const firstResponseMs = performance.now() - begun;
    if (res.status !== 200) throw new Error(`first response: ${res.status} ${JSON.stringify(res.body)}`);
    return {
      processStartMs: ready - spawned - container.initMs,
      importMs: container.initMs,
      firstResponseMs,
      coldStartMs: container.initMs + firstResponseMs,
    };
  } finally {
    await container.stop();
  }
}

function summary(runs: Run[], key: keyof Run) {
  const values = runs.map((r) => r[key]).sort((a, b) => a - b);
  const at = (q: number) => values[Math.min(values.length - 1, Math.floor(q * values.length))] ?? NaN;
  return { median: at(0.5), p90: at(0.9), max: values.at(-1) ?? NaN };
}

const fmt = (ms: number) => `${ms.toFixed(0).padStart(5)} ms`;

function report(label: string, runs: Run[]): Record<string, unknown> {
  process.stdout.write(`\n${label} (${runs.length} cold starts)\n`);
  process.stdout.write('                      median      p90      max\n');
  const out: Record<string, unknown> = {};
  for (const key of ['importMs', 'firstResponseMs', 'coldStartMs', 'processStartMs'] as const) {
    const s = summary(runs, key);
    out[key] = s;
    process.stdout.write(`${key.padEnd(18)} ${fmt(s.median)} ${fmt(s.p90)} ${fmt(s.max)}\n`);
  }
  return out;
}

const workdir = mkdtempSync(join(tmpdir(), 'projects-api-coldstart-'));
const dir = join(workdir, 'function');
cpSync(join(root, 'dist/lambda'), dir, { recursive: true });
const location = { dir, handler: 'index.handler' };
const name = `projects_api_coldstart_${process.pid}`;
await admin(`create database ${name}`);
try {
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  execFileSync(process.execPath, [join(root, 'dist/migrate.mjs')], {
    env: { ...process.env, DATABASE_URL: url.toString() },
    stdio: 'inherit',
  });

  const postgres: Run[] = [];
  for (let i = 0; i < RUNS; i++) postgres.push(await coldStart(location, url.toString(), i));
  const pgliteRuns: Run[] = [];
  for (let i = 0; i < PGLITE_RUNS; i++) pgliteRuns.push(await coldStart(location, 'pglite://memory', i));

  const results = {
    date: new Date().toISOString(),
    node: process.version,
    targetMs: TARGET_MS,
    postgres: report('PostgreSQL on loopback', postgres),
    pgliteInMemory: report('PGlite in memory (demo mode: the template copied and migrated at init)', pgliteRuns),
  };
  const median = summary(postgres, 'coldStartMs').median;
  process.stdout.write(
    `\ncold start on PostgreSQL, median ${median.toFixed(0)} ms: ${median < TARGET_MS ? 'under' : 'OVER'} the ${TARGET_MS} ms target\n`,
  );
  writeFileSync(join(root, 'bench/results/lambda-cold-start.json'), `${JSON.stringify(results, null, 2)}\n`);
} finally {
  await admin(`drop database if exists ${name} with (force)`);
  rmSync(workdir, { recursive: true, force: true });
}
