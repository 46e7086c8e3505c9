import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { installedPgliteVersion, templateName } from '../src/db/pglite-template.ts';
import { freePort } from './support/free-port.ts';
import { uniqueName } from './support/harness.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

const running = new Set<ChildProcess>();

// A test that fails before it stops its server must not leave it behind.
afterEach(() => {
  for (const proc of running) if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  running.clear();
});

interface LogLine {
  level: number;
  msg: string;
  from?: string;
}

/**
 * Runs `src/entry/server.ts` on `databaseUrl` until it listens, then returns what it logged by
 * then, a signup's status and its exit code once stopped with SIGTERM.
 */
async function startSignUpStop(databaseUrl: string, username: string): Promise<{ lines: LogLine[]; signup: number; code: number | null }> {
  const port = await freePort();
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/entry/server.ts'], {
    cwd: root,
    env: { ...process.env, PORT: String(port), DATABASE_URL: databaseUrl, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  running.add(proc);
  const exited = new Promise<number | null>((resolve) => proc.on('exit', resolve));
  let output = '';
  await new Promise<void>((resolve, reject) => {
    proc.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('"listening"')) resolve();
    });
    void exited.then(() => reject(new Error(`server exited early: ${output}`)));
  });
  const lines = output
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LogLine);
  const response = await fetch(`http://127.0.0.1:${port}/api/users`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: 'password-123', nickname: 'n', email: `${username}@example.com` }),
  });
  proc.kill('SIGTERM');
  return { lines, signup: response.status, code: await exited };
}

const messages = (lines: LogLine[]) => lines.map((line) => line.msg);

// Each case starts real server processes, an embedded database and all: slow on a busy machine.
describe('the embedded database', { timeout: 120_000 }, () => {
  it('a first start says, before listening, that it creates the database in the data directory; a restart opens it silently, migrated, data kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'projects-api-first-start-'));
    const dataDir = join(dir, 'pglite');
    const username = uniqueName('first');
    try {
      const first = await startSignUpStop(`pglite://${dataDir}`, username);
      expect(messages(first.lines)).toEqual([`creating the embedded database in ${dataDir} (first start only)`, 'listening']);
      expect(first.lines[0]).toMatchObject({ level: 30, from: 'template' });
      expect(first.signup).toBe(201);
      expect(first.code).toBe(0);

      const restart = await startSignUpStop(`pglite://${dataDir}`, username);
      expect(messages(restart.lines)).toEqual(['listening']);
      // The user the first run created is there: the same signup is now a conflict.
      expect(restart.signup).toBe(409);
      expect(restart.code).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('pglite://memory says it creates the database in memory, on every start', async () => {
    const run = await startSignUpStop('pglite://memory', uniqueName('mem'));
    expect(messages(run.lines)).toEqual(['creating the embedded database in memory', 'listening']);
    expect(run.lines[0]).toMatchObject({ level: 30, from: 'template' });
    expect(run.signup).toBe(201);
    expect(run.code).toBe(0);
  });

  it('the template in src/db is the installed PGlite version’s, and the only one (after an upgrade: npm run pglite:template)', () => {
    const templates = readdirSync(join(root, 'src/db')).filter((file) => file.startsWith('pglite-template-'));
    expect(templates).toEqual([templateName(installedPgliteVersion())]);
  });
});
