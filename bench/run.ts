import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LIMITS_OFF } from '../src/config.ts';
import { drive, type Load } from './load.ts';
import { judge, summarise, svgChart, table, type BenchReport, type Sample } from './report.ts';
import { RAW_INSERT_ROW, scenarios, seed, type Seed } from './scenarios.ts';
import { buildPeers, citusScratch, scratchDatabase, start, stop } from './servers.ts';
import { canRunPgBouncer, PgBouncer } from '../test/support/pgbouncer.ts';
import { CITUS_URL, CONNECTIONS, DATABASE_URL, DURATION, ON_POSTGRES, ONLY, PORT, ROOT, ROUNDS } from './settings.ts';

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

// Signups mail a link: with no SMTP server here, as files outside the repository.
const SERVICE_ENV = { LOG_LEVEL: 'info', MAIL_DIR: join(tmpdir(), 'projects-api-bench-mail'), ...LIMITS_OFF };

async function main(): Promise<void> {
  await buildPeers();
  const scratch = await scratchDatabase();
  const postgresDatabase = ON_POSTGRES ? scratch.name : undefined;
  const citusDatabase = CITUS_URL === undefined ? undefined : await citusScratch(CITUS_URL);
  const children = new Set<ChildProcess>();
  // Sized like the service's own pool, so the pooler adds its hop and not a queue.
  const pooler =
    ON_POSTGRES && canRunPgBouncer()
      ? await PgBouncer.start({
          mode: 'transaction',
          targetHost: new URL(DATABASE_URL).hostname,
          targetPort: Number(new URL(DATABASE_URL).port || 5432),
          defaultPoolSize: 10,
        })
      : undefined;
  try {
    log(`database: ${ON_POSTGRES ? 'postgres' : 'pglite'}; ${CONNECTIONS} connections, ${DURATION} s per scenario, ${ROUNDS} rounds`);
    const launch = async (script: string, env: Record<string, string>) => {
      const proc = await start(script, { PORT: String(PORT), DATABASE_URL: scratch.url, ...env }, 'listening');
      children.add(proc);
      return proc;
    };
    const halt = async (proc: ChildProcess) => {
      await stop(proc);
      children.delete(proc);
    };
    // Each scenario gets a fresh process, so its RSS is that workload's and not what an earlier
    // one left behind (argon2's 19 MiB blocks stay in malloc's arenas after signup).
    const serve = async (script: string, load: Load, env: Record<string, string> = {}) => {
      const proc = await launch(script, env);
      try {
        return await drive(PORT, proc.pid!, postgresDatabase, load);
      } finally {
        await halt(proc);
      }
    };

    const setup = await launch('dist/server.mjs', SERVICE_ENV);
    const seeded = await seed(PORT);
    await halt(setup);
    let citus: { url: string; seed: Seed } | undefined;
    if (citusDatabase) {
      const onCitus = await launch('dist/server.mjs', { ...SERVICE_ENV, DATABASE_URL: citusDatabase.url });
      citus = { url: citusDatabase.url, seed: await seed(PORT) };
      await halt(onCitus);
    }

    const all = scenarios({
      seed: seeded,
      databaseUrl: scratch.url,
      postgresDatabase,
      serve,
      // The service as `npm start` runs it: the esbuild bundle on plain node (`npm run bench` builds it).
      service: (load, env = {}) => serve('dist/server.mjs', load, { ...SERVICE_ENV, ...env }),
      pooledUrl: pooler?.url(scratch.name, new URL(DATABASE_URL).username || 'postgres'),
      citus,
    });
    const entries = all.filter((e) => ONLY?.includes(e.name) ?? true);
    const samples = new Map<string, Sample[]>(entries.map((e) => [e.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      // Every other round backwards, so neither side of a pair always runs first.
      const order = round % 2 ? [...entries].reverse() : entries;
      for (const entry of order) {
        log(`round ${round + 1}/${ROUNDS}: ${entry.name}`);
        samples.get(entry.name)!.push(await entry.run(round));
      }
    }

    const rows = entries.map((e) => summarise(e.name, e.kind, samples.get(e.name)!));
    judge(rows, entries, RAW_INSERT_ROW);
    const report: BenchReport = {
      date: new Date().toISOString(),
      database: ON_POSTGRES ? 'postgres' : 'pglite',
      connections: CONNECTIONS,
      durationSeconds: DURATION,
      rounds: ROUNDS,
      machine: { cpus: cpus().length, node: process.version },
      rows,
    };
    const stem = `bench/results/${report.database}`;
    writeFileSync(`${ROOT}${stem}.json`, `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(`${ROOT}${stem}.svg`, svgChart(report));
    process.stdout.write(`${table(report)}\n\nwritten: ${stem}.json, ${stem}.svg\n`);
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await pooler?.stop();
    await scratch.drop();
    await citusDatabase?.drop();
  }
}

await main();
