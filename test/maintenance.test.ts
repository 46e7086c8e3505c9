import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.ts';
import { createDb } from '../src/db/database.ts';
import { migrate } from '../src/db/migrations.ts';
import { createLogger } from '../src/logger.ts';
import { runMaintenance } from '../src/maintenance.ts';
import { LIVE_SEEDED_SESSIONS, remainingSessions, seedDeadAndLiveSessions } from './support/dead-sessions.ts';
import { freePort } from './support/free-port.ts';
import { onPostgres, openTestDatabase } from './support/harness.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('runMaintenance', () => {
  it("deletes every user's sessions past either timeout, keeps the live ones, and says how many in its log line", async () => {
    const testDb = await openTestDatabase();
    try {
      await seedDeadAndLiveSessions(testDb.database.db);
      const logs: Record<string, unknown>[] = [];
      const logger = createLogger('info', { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) });
      const result = await runMaintenance(testDb.database.db, loadConfig({}), logger);
      expect(result).toEqual({ keys: 0, counters: 0, sessions: 4 });
      expect(await remainingSessions(testDb.database.db)).toEqual(LIVE_SEEDED_SESSIONS);
      expect(logs).toMatchObject([
        { level: 30, keys: 0, counters: 0, sessions: 4, msg: 'expired idempotency keys, rate-limit counters and sessions purged' },
      ]);
      expect(await runMaintenance(testDb.database.db, loadConfig({}), logger)).toEqual({ keys: 0, counters: 0, sessions: 0 });
      expect(logs).toHaveLength(1);
    } finally {
      await testDb.close();
    }
  });

  it('reads the idle limit from SESSION_IDLE_MINUTES', async () => {
    const testDb = await openTestDatabase();
    try {
      await seedDeadAndLiveSessions(testDb.database.db);
      const result = await runMaintenance(testDb.database.db, loadConfig({ SESSION_IDLE_MINUTES: '60' }), createLogger('silent'));
      // Idle 31 minutes is alive under a 60-minute limit: only the two expired sessions go.
      expect(result.sessions).toBe(2);
      expect(await remainingSessions(testDb.database.db)).toEqual(['maint-a:idle', 'maint-a:live', 'maint-b:idle', 'maint-b:live']);
    } finally {
      await testDb.close();
    }
  });
});

/** Runs the Node server until its maintenance has logged a purge, then stops it with SIGTERM. */
async function runServerUntilPurged(databaseUrl: string): Promise<Record<string, unknown>> {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'src/entry/server.ts'], {
    cwd: root,
    env: { ...process.env, PORT: String(await freePort()), DATABASE_URL: databaseUrl, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<number | null>((resolve) => proc.on('exit', resolve));
  try {
    const purged = await new Promise<Record<string, unknown>>((resolve, reject) => {
      let pending = '';
      proc.stdout.on('data', (chunk: Buffer) => {
        pending += chunk.toString();
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) {
          const entry = JSON.parse(line) as Record<string, unknown>;
          if (typeof entry.msg === 'string' && entry.msg.includes('purged')) resolve(entry);
        }
      });
      void exited.then((code) => reject(new Error(`the server exited (${code}) before its maintenance purged anything`)));
      // Start-up and the first run take a few seconds even on a busy machine.
      setTimeout(() => reject(new Error('the server did not log a purge within 60 s')), 60_000).unref();
    });
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
    return purged;
  } finally {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  }
}

// The timer's first run is at start-up; the hourly ones run the same function.
describe('the Node server', { timeout: 120_000 }, () => {
  it('purges dead sessions with its maintenance', async () => {
    if (onPostgres()) {
      const testDb = await openTestDatabase();
      try {
        await seedDeadAndLiveSessions(testDb.database.db);
        expect(await runServerUntilPurged(testDb.url ?? '')).toMatchObject({ keys: 0, counters: 0, sessions: 4 });
        expect(await remainingSessions(testDb.database.db)).toEqual(LIVE_SEEDED_SESSIONS);
      } finally {
        await testDb.close();
      }
      return;
    }
    // PGlite: one process at a time may open a data directory, so the test and the server take turns.
    const dir = mkdtempSync(join(tmpdir(), 'projects-api-maintenance-'));
    try {
      const url = `pglite://${dir}`;
      const seeding = await createDb(url);
      await migrate(seeding.db);
      await seedDeadAndLiveSessions(seeding.db);
      await seeding.close();
      expect(await runServerUntilPurged(url)).toMatchObject({ keys: 0, counters: 0, sessions: 4 });
      const checking = await createDb(url);
      try {
        expect(await remainingSessions(checking.db)).toEqual(LIVE_SEEDED_SESSIONS);
      } finally {
        await checking.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
