import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request, type Server } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { describe, expect, inject, it } from 'vitest';
import { redactUrl } from '../src/db/database.ts';
import { NODE_SERVER_LIMITS, startNodeServer } from '../src/entry/node-server.ts';
import { onPostgres, startTestApp } from './support/harness.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * Runs the server until it exits (start-up failures do), with `env` over the test's own; through
 * `launcher` (a program and its arguments) if one is given.
 */
function startServer(env: Record<string, string>, launcher: string[] = []) {
  const server = [process.execPath, '--import', 'tsx', 'src/entry/server.ts'];
  const [command, ...args] = launcher.length > 0 ? [...launcher, ...server] : server;
  return spawnSync(command!, args, {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'silent', ...env },
    encoding: 'utf8',
    timeout: 100_000,
  });
}

const CAP_NET_BIND_SERVICE = 10;

/** Whether this process holds the Linux capability numbered `bit` in its effective set. */
function hasCapability(bit: number): boolean {
  const effective = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0';
  return ((BigInt(`0x${effective}`) >> BigInt(bit)) & 1n) === 1n;
}

/** A port that nothing listens on once this returns. */
async function closedPort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

// Each case starts a real server process, an embedded database and all: slow on a busy machine.
describe('npm start', { timeout: 120_000 }, () => {
  it('an invalid variable stops start-up with one line naming it', () => {
    const run = startServer({ PORT: 'eighty', DATABASE_URL: 'pglite://memory' });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe('Invalid configuration: PORT must be a whole number\n');
    expect(run.stdout).toBe('');
  });

  it('a DATABASE_URL that is not a URL stops start-up with one line naming it', () => {
    const run = startServer({ DATABASE_URL: 'postgres://postgres@[db/projects' });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe('Invalid configuration: DATABASE_URL is not a valid URL\n');
  });

  it('a port in use stops start-up with one line naming PORT', async () => {
    const holder = createServer().listen(0);
    await once(holder, 'listening');
    const { port } = holder.address() as AddressInfo;
    try {
      const run = startServer({ PORT: String(port), DATABASE_URL: 'pglite://memory' });
      expect(run.status).toBe(1);
      expect(run.stderr).toBe(`Cannot listen: PORT ${port} is already in use\n`);
    } finally {
      holder.close();
    }
  });

  // Ports below ip_unprivileged_port_start need CAP_NET_BIND_SERVICE. A process that has it (root)
  // runs the server without it, and stays root: a user switch would need that user to be able to
  // read the checkout, which a clone under a private (0700) folder does not allow. A machine that
  // lets anyone bind port 1 cannot show the failure.
  const unprivilegedFrom = Number(readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8'));
  const canBindLowPorts = hasCapability(CAP_NET_BIND_SERVICE);
  const setpriv = '/usr/bin/setpriv';
  it.skipIf(!(unprivilegedFrom > 1) || (canBindLowPorts && !existsSync(setpriv)))(
    'a port that needs privileges stops start-up with one line naming PORT',
    () => {
      const withoutBind = canBindLowPorts ? [setpriv, '--inh-caps=-net_bind_service', '--bounding-set=-net_bind_service'] : [];
      const run = startServer({ PORT: '1', DATABASE_URL: 'pglite://memory' }, withoutBind);
      expect(run.status).toBe(1);
      expect(run.stderr).toBe('Cannot listen: PORT 1 needs privileges this process does not have\n');
    },
  );

  it('a database that refuses connections stops start-up with one line naming DATABASE_URL', async () => {
    const port = await closedPort();
    const run = startServer({ DATABASE_URL: `postgres://app:secret@127.0.0.1:${port}/projects`, PORT: String(await closedPort()) });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      `Cannot reach the database at DATABASE_URL (postgres://app:***@127.0.0.1:${port}/projects): connect ECONNREFUSED 127.0.0.1:${port}\n`,
    );
  });

  it('an embedded database that cannot be created stops start-up with one line naming DATABASE_URL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'projects-api-startup-'));
    writeFileSync(join(dir, 'file'), '');
    try {
      const run = startServer({ DATABASE_URL: `pglite://${dir}/file/db`, PORT: String(await closedPort()) });
      expect(run.status).toBe(1);
      expect(run.stderr).toBe(
        `Cannot open the database at DATABASE_URL (pglite://${dir}/file/db): ENOTDIR: not a directory, mkdir '${dir}/file/db'\n`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a migration that fails stops start-up with one line naming DATABASE_URL', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'projects-api-startup-'));
    try {
      // A database that already holds a table of the first migration's name, of another shape.
      const pglite = new PGlite(dir);
      await pglite.exec('create table users (x int)');
      await pglite.close();
      const run = startServer({ DATABASE_URL: `pglite://${dir}`, PORT: String(await closedPort()) });
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(new RegExp(`^Migration failed on DATABASE_URL \\(pglite://${dir}\\): .*"users" already exists\n$`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.runIf(onPostgres())('a database that refuses the login stops start-up with one line naming DATABASE_URL', async () => {
    const spec = inject('testDatabase');
    if (spec.kind !== 'postgres') return;
    const url = new URL(spec.adminUrl);
    url.username = 'no_such_role_for_projects_api';
    const run = startServer({ DATABASE_URL: url.toString(), PORT: String(await closedPort()) });
    expect(run.status).toBe(1);
    expect(run.stderr).toBe(
      `Cannot reach the database at DATABASE_URL (${redactUrl(url.toString())}): role "no_such_role_for_projects_api" does not exist\n`,
    );
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
