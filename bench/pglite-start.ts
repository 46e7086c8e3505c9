import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installedPgliteVersion, templateName } from '../src/db/pglite-template.ts';
import { rssMb } from './proc.ts';
import { median } from './report.ts';

// `npm start` on the embedded database, as a user types it (npm, the build, then the server): time
// from the command to `listening` and the server's RSS then and once idle, for a new user's first
// start (a new data directory: the template copied, then the migrations), a restart on that
// directory, and pglite://memory. For comparison, run from dist/ directly: a restart without npm and
// the build, and a first start without the template (PGlite's own initdb; `npm start` would copy
// the template back).
const root = fileURLToPath(new URL('..', import.meta.url));
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const PORT = 18_082;
/** How long after listening the idle RSS is read. */
const SETTLE_MS = 2_000;
const version = installedPgliteVersion();
const template = join(root, 'dist', templateName(version));

interface Start {
  readySeconds: number;
  rssAtReadyMb: number;
  idleRssMb: number;
  /** Whether the server said it was creating the database before `listening`. */
  saidCreating: boolean;
}

/** The one process `pid` started: the server, which npm's shell replaced itself with (`exec`). */
function onlyChild(pid: number): number {
  const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ').filter(Boolean);
  if (children.length !== 1) throw new Error(`expected npm to run one process, found ${children.length}`);
  return Number(children[0]);
}

/** Runs `command` until the server listens on `databaseUrl`, reads its RSS, then stops it. */
async function startOnce(databaseUrl: string, command: 'npm start' | 'node dist/server.mjs'): Promise<Start> {
  const started = performance.now();
  const [program, args] = command === 'npm start' ? ['npm', ['start', '--silent']] : [process.execPath, ['dist/server.mjs']];
  const proc = spawn(program, args, {
    cwd: root,
    env: { ...process.env, PORT: String(PORT), DATABASE_URL: databaseUrl, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  let output = '';
  await new Promise<void>((resolve, reject) => {
    proc.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('"listening"')) resolve();
    });
    proc.once('exit', (code) => reject(new Error(`server exited with ${code}`)));
  });
  const readySeconds = (performance.now() - started) / 1000;
  const server = command === 'npm start' ? onlyChild(proc.pid!) : proc.pid!;
  const rssAtReadyMb = rssMb(server);
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const idleRssMb = rssMb(server);
  process.kill(server, 'SIGTERM');
  await exited;
  return { readySeconds, rssAtReadyMb, idleRssMb, saidCreating: output.includes('creating the embedded database') };
}

/** What `npm start` spends before the server runs: the build, timed on its own. */
function buildSeconds(): number {
  const started = performance.now();
  const run = spawnSync('node', ['scripts/build.mjs', 'server'], { cwd: root, stdio: 'inherit' });
  if (run.status !== 0) throw new Error('the build failed');
  return (performance.now() - started) / 1000;
}

const SCENARIOS = ['firstStart', 'restart', 'memory', 'restartServerOnly', 'firstStartWithoutTemplate'] as const;
type Round = Record<(typeof SCENARIOS)[number], Start> & { buildSeconds: number };
const runs: Round[] = [];
/** The machine is shared: what else ran is part of the result. */
const loadBefore = loadavg();
for (let round = 0; round < ROUNDS; round++) {
  const dir = mkdtempSync(join(tmpdir(), 'projects-api-pglite-start-'));
  try {
    process.stderr.write(`round ${round + 1}/${ROUNDS}\n`);
    const firstStart = await startOnce(`pglite://${dir}/new`, 'npm start');
    const restart = await startOnce(`pglite://${dir}/new`, 'npm start');
    const memory = await startOnce('pglite://memory', 'npm start');
    const restartServerOnly = await startOnce(`pglite://${dir}/new`, 'node dist/server.mjs');
    renameSync(template, `${template}.hidden`);
    let firstStartWithoutTemplate: Start;
    try {
      firstStartWithoutTemplate = await startOnce(`pglite://${dir}/initdb`, 'node dist/server.mjs');
    } finally {
      renameSync(`${template}.hidden`, template);
    }
    runs.push({ firstStart, restart, memory, restartServerOnly, firstStartWithoutTemplate, buildSeconds: buildSeconds() });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const summary = (name: (typeof SCENARIOS)[number]) => {
  const seconds = runs.map((r) => r[name].readySeconds);
  return {
    readySeconds: median(seconds),
    readySecondsRange: [Math.min(...seconds), Math.max(...seconds)],
    rssAtReadyMb: median(runs.map((r) => r[name].rssAtReadyMb)),
    idleRssMb: median(runs.map((r) => r[name].idleRssMb)),
    saidCreating: runs.map((r) => r[name].saidCreating),
  };
};
const s = Object.fromEntries(SCENARIOS.map((name) => [name, summary(name)])) as Record<
  (typeof SCENARIOS)[number],
  ReturnType<typeof summary>
>;
const targets = [
  { text: 'first `npm start` to ready ≤ 5 s', met: s.firstStart.readySeconds <= 5 },
  { text: 'first `npm start`: idle RSS ≤ 300 MB', met: s.firstStart.idleRssMb <= 300 },
  { text: 'restart (`npm start`) to ready ≤ 2 s', met: s.restart.readySeconds <= 2 },
  { text: 'restart: idle RSS ≤ 300 MB', met: s.restart.idleRssMb <= 300 },
  { text: 'pglite://memory: idle RSS ≤ 300 MB', met: s.memory.idleRssMb <= 300 },
];
const result = {
  date: new Date().toISOString(),
  node: process.version,
  pglite: version,
  rounds: ROUNDS,
  loadAverage: { before: loadBefore, after: loadavg() },
  buildSeconds: median(runs.map((r) => r.buildSeconds)),
  ...s,
  targets,
  runs,
};
writeFileSync(join(root, 'bench/results/pglite-start.json'), `${JSON.stringify(result, null, 2)}\n`);

const row = (name: string, x: ReturnType<typeof summary>) =>
  `| ${name} | ${x.readySeconds.toFixed(1)} (${x.readySecondsRange.map((n) => n.toFixed(1)).join('–')}) | ${x.rssAtReadyMb.toFixed(0)} | ${x.idleRssMb.toFixed(0)} |`;
process.stdout.write(
  [
    `PGlite ${version}, Node ${process.version}, median of ${ROUNDS}; the build alone: ${result.buildSeconds.toFixed(1)} s;` +
      ` load average ${loadBefore[0]!.toFixed(1)} before, ${result.loadAverage.after[0]!.toFixed(1)} after`,
    '| start | to listening, s (min–max) | RSS at ready, MB | RSS idle, MB |',
    '|---|---:|---:|---:|',
    row('`npm start`, first start (new data directory)', s.firstStart),
    row('`npm start`, restart', s.restart),
    row('`npm start`, pglite://memory', s.memory),
    row('restart, `node dist/server.mjs` (no npm, no build)', s.restartServerOnly),
    row('first start without the template (initdb), `node dist/server.mjs`', s.firstStartWithoutTemplate),
    ...targets.map((t) => `${t.met ? 'met' : '**not met**'}: ${t.text}`),
    'written: bench/results/pglite-start.json',
  ].join('\n') + '\n',
);
