import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rssMb } from './proc.ts';
import { median } from './report.ts';

// `npm start` on the embedded database: time from process start to listening and RSS once idle,
// for a new user's first start (initdb + migrations) and for a restart on the same data directory.
const root = fileURLToPath(new URL('..', import.meta.url));
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const PORT = 18_082;
/** How long after listening the idle RSS is read. */
const SETTLE_MS = 2_000;

/** Starts the built server on `dir`, returns seconds to listening and the RSS at that moment and once idle, then stops it. */
async function startOnce(dir: string): Promise<{ readySeconds: number; rssAtReadyMb: number; idleRssMb: number }> {
  const started = performance.now();
  const proc = spawn(process.execPath, ['dist/server.mjs'], {
    cwd: root,
    env: { ...process.env, PORT: String(PORT), DATABASE_URL: `pglite://${dir}`, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    proc.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('"listening"')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  const readySeconds = (performance.now() - started) / 1000;
  const rssAtReadyMb = rssMb(proc.pid!);
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const idleRssMb = rssMb(proc.pid!);
  proc.kill('SIGTERM');
  await exited;
  return { readySeconds, rssAtReadyMb, idleRssMb };
}

const { version } = JSON.parse(readFileSync(join(root, 'node_modules/@electric-sql/pglite/package.json'), 'utf8')) as { version: string };
const runs: { first: Awaited<ReturnType<typeof startOnce>>; restart: Awaited<ReturnType<typeof startOnce>> }[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const dir = mkdtempSync(join(tmpdir(), 'projects-api-pglite-start-'));
  try {
    process.stderr.write(`round ${round + 1}/${ROUNDS}\n`);
    const first = await startOnce(dir);
    const restart = await startOnce(dir);
    runs.push({ first, restart });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const summary = (pick: (r: (typeof runs)[number]) => Awaited<ReturnType<typeof startOnce>>) => ({
  readySeconds: median(runs.map((r) => pick(r).readySeconds)),
  rssAtReadyMb: median(runs.map((r) => pick(r).rssAtReadyMb)),
  idleRssMb: median(runs.map((r) => pick(r).idleRssMb)),
  readySecondsRange: [Math.min(...runs.map((r) => pick(r).readySeconds)), Math.max(...runs.map((r) => pick(r).readySeconds))],
});
const result = {
  date: new Date().toISOString(),
  node: process.version,
  pglite: version,
  rounds: ROUNDS,
  firstStart: summary((r) => r.first),
  restart: summary((r) => r.restart),
  targets: [] as { text: string; met: boolean }[],
  runs,
};
result.targets.push(
  { text: 'idle RSS ≤ 300 MB after a restart', met: result.restart.idleRssMb <= 300 },
  { text: 'restart to ready ≤ 3 s', met: result.restart.readySeconds <= 3 },
);
const row = (name: string, s: typeof result.firstStart) =>
  `| ${name} | ${s.readySeconds.toFixed(1)} (${s.readySecondsRange.map((n) => n.toFixed(1)).join('–')}) | ${s.rssAtReadyMb.toFixed(0)} | ${s.idleRssMb.toFixed(0)} |`;
writeFileSync(join(root, 'bench/results/pglite-start.json'), `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(
  [
    `PGlite ${version}, Node ${process.version}, median of ${ROUNDS}`,
    '| start | to listening, s (min–max) | RSS at ready, MB | RSS idle, MB |',
    '|---|---:|---:|---:|',
    row('first start (new data directory)', result.firstStart),
    row('restart', result.restart),
    ...result.targets.map((t) => `${t.met ? 'met' : '**not met**'}: ${t.text}`),
    'written: bench/results/pglite-start.json',
  ].join('\n') + '\n',
);
