import { spawnSync } from 'node:child_process';
import { request, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { NODE_SERVER_LIMITS, startNodeServer } from '../src/entry/node-server.ts';
import { startTestApp } from './support/harness.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

describe('npm start', () => {
  it('an invalid variable stops start-up with one line naming it', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/entry/server.ts'], {
      cwd: root,
      env: { ...process.env, PORT: 'eighty', DATABASE_URL: 'pglite://memory' },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe('Invalid configuration: PORT must be a whole number\n');
    expect(run.stdout).toBe('');
  });
});

describe('the Node server', () => {
  it('refuses oversized headers with 431 and bounds slow clients', async () => {
    const t = await startTestApp();
    let port = 0;
    const server = await new Promise<Server>((resolve) => {
      const started = startNodeServer(t.app, 0, {}, (p) => {
        port = p;
        resolve(started as Server);
      });
    });
    try {
      const status = (headers: Record<string, string>) =>
        new Promise<number>((resolve, reject) => {
          const req = request({ host: '127.0.0.1', port, path: '/health/live', headers, agent: false }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          });
          req.on('error', reject);
          req.end();
        });
      expect(await status({})).toBe(200);
      expect(await status({ 'x-padding': 'p'.repeat(NODE_SERVER_LIMITS.maxHeaderSize + 1) })).toBe(431);
      expect(server.headersTimeout).toBe(10_000);
      expect(server.requestTimeout).toBe(30_000);
      expect(server.keepAliveTimeout).toBe(5_000);
    } finally {
      server.close();
      await t.close();
    }
  });
});
