import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const BIN = '/usr/lib/postgresql/15/bin';

/** Whether this machine can start a PostgreSQL cluster of a test's own (Debian's binaries). */
export function canRunPrivatePostgres(): boolean {
  return existsSync(join(BIN, 'pg_ctl')) && existsSync(join(BIN, 'initdb'));
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address !== 'object') throw new Error('no port');
  return address.port;
}

/**
 * A PostgreSQL cluster in a temporary directory on a free port, which a test may restart: what a
 * failover or a crash does to the app, without touching the shared server. PostgreSQL refuses to
 * run as root, so as root it runs as the `postgres` user.
 */
export class PrivatePostgres {
  private constructor(
    private readonly dir: string,
    readonly port: number,
  ) {}

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  private static exec(command: string, args: string[]) {
    const asRoot = process.getuid?.() === 0;
    return asRoot ? run('runuser', ['-u', 'postgres', '--', join(BIN, command), ...args]) : run(join(BIN, command), args);
  }

  static async start(): Promise<PrivatePostgres> {
    const dir = mkdtempSync('/tmp/projects-api-pg-');
    if (process.getuid?.() === 0) {
      const id = async (flag: string) => Number((await run('id', [flag, 'postgres'])).stdout.trim());
      chownSync(dir, await id('-u'), await id('-g'));
    }
    const pg = new PrivatePostgres(dir, await freePort());
    await PrivatePostgres.exec('initdb', ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync']);
    await pg.ctl('start');
    return pg;
  }

  private ctl(action: 'start' | 'restart') {
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`;
    return PrivatePostgres.exec('pg_ctl', [
      '-D',
      join(this.dir, 'data'),
      '-o',
      options,
      '-l',
      join(this.dir, 'log'),
      '-m',
      'fast',
      '-w',
      action,
    ]);
  }

  /** Stops the server (ending every connection) and starts it again; resolves once it accepts connections. */
  async restart(): Promise<void> {
    await this.ctl('restart');
  }

  async destroy(): Promise<void> {
    await PrivatePostgres.exec('pg_ctl', ['-D', join(this.dir, 'data'), '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
