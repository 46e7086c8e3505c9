import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './free-port.ts';

const run = promisify(execFile);

/** Debian installs it in /usr/sbin, which a non-root PATH may lack. */
function pgbouncerBinary(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin'];
  return dirs.map((dir) => join(dir, 'pgbouncer')).find((path) => existsSync(path));
}

/** Whether this machine has a `pgbouncer` binary for a test to start. */
export function canRunPgBouncer(): boolean {
  return pgbouncerBinary() !== undefined;
}

export interface PgBouncerOptions {
  mode: 'transaction' | 'session';
  /** The PostgreSQL server every database name is forwarded to. */
  targetPort: number;
  targetHost?: string;
  /** Server connections per database and user. */
  defaultPoolSize: number;
  /** Client connections PgBouncer accepts in all (its default is 100). */
  maxClientConn?: number;
  /** The port to listen on; a free one when not given. */
  port?: number;
}

/**
 * A PgBouncer of a test's own on 127.0.0.1, forwarding any database name to one PostgreSQL server
 * with trust authentication. Everything else is PgBouncer's default, as an operator would install
 * it: the service has to work with that (no ignored startup parameters). PgBouncer refuses to run
 * as root, so as root it runs as the `postgres` user, in a directory that user owns.
 */
export class PgBouncer {
  private constructor(
    private readonly dir: string,
    private readonly child: ChildProcess,
    private readonly exited: Promise<void>,
    readonly port: number,
  ) {}

  /** The URL of database `name` through this pooler. */
  url(name: string, user = 'postgres'): string {
    return `postgres://${user}@127.0.0.1:${this.port}/${name}`;
  }

  /** PgBouncer's admin console (SHOW POOLS, SHOW STATS: simple-protocol statements only). */
  get adminUrl(): string {
    return this.url('pgbouncer');
  }

  get log(): string {
    try {
      return readFileSync(join(this.dir, 'pgbouncer.log'), 'utf8');
    } catch {
      return '';
    }
  }

  static async start(options: PgBouncerOptions): Promise<PgBouncer> {
    const binary = pgbouncerBinary();
    if (!binary) throw new Error('pgbouncer is not installed');
    const port = options.port ?? (await freePort());
    const dir = mkdtempSync(join(tmpdir(), 'projects-api-pgbouncer-'));
    const asRoot = process.getuid?.() === 0;
    const config = [
      '[databases]',
      `* = host=${options.targetHost ?? '127.0.0.1'} port=${options.targetPort}`,
      '',
      '[pgbouncer]',
      `listen_addr = 127.0.0.1`,
      `listen_port = ${port}`,
      `unix_socket_dir = ${dir}`,
      `logfile = ${join(dir, 'pgbouncer.log')}`,
      `pidfile = ${join(dir, 'pgbouncer.pid')}`,
      'auth_type = trust',
      `auth_file = ${join(dir, 'userlist.txt')}`,
      'admin_users = postgres',
      `pool_mode = ${options.mode}`,
      `default_pool_size = ${options.defaultPoolSize}`,
      ...(options.maxClientConn === undefined ? [] : [`max_client_conn = ${options.maxClientConn}`]),
      '',
    ].join('\n');
    writeFileSync(join(dir, 'pgbouncer.ini'), config);
    writeFileSync(join(dir, 'userlist.txt'), '"postgres" ""\n');
    if (asRoot) {
      const id = async (flag: string) => Number((await run('id', [flag, 'postgres'])).stdout.trim());
      const [uid, gid] = [await id('-u'), await id('-g')];
      for (const file of ['', 'pgbouncer.ini', 'userlist.txt']) chownSync(join(dir, file), uid, gid);
    }
    chmodSync(dir, 0o755);
    const command = asRoot ? 'runuser' : binary;
    const args = asRoot ? ['-u', 'postgres', '--', binary, join(dir, 'pgbouncer.ini')] : [join(dir, 'pgbouncer.ini')];
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    let running = true;
    const exited = new Promise<void>((resolve) => {
      child.on('exit', () => {
        running = false;
        resolve();
      });
    });
    const bouncer = new PgBouncer(dir, child, exited, port);
    const deadline = Date.now() + 10_000;
    for (;;) {
      if (!running) {
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`pgbouncer exited at start: ${stderr}${bouncer.log}`);
      }
      if (await bouncer.answers()) return bouncer;
      if (Date.now() > deadline) {
        await bouncer.stop();
        throw new Error(`pgbouncer did not accept connections within 10 s: ${stderr}${bouncer.log}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Whether the admin console answers: PgBouncer is listening, without opening a server connection. */
  private async answers(): Promise<boolean> {
    const client = new pg.Client({ connectionString: this.adminUrl });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('show version');
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  /** One admin-console listing, e.g. `show('pools')`, as rows. */
  async show(what: 'pools' | 'stats' | 'clients' | 'servers'): Promise<Record<string, unknown>[]> {
    const client = new pg.Client({ connectionString: this.adminUrl });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return (await client.query<Record<string, unknown>>(`show ${what}`)).rows;
    } finally {
      await client.end();
    }
  }

  /** Ends PgBouncer at once (its immediate shutdown: every client and server connection closes). */
  async stop(): Promise<void> {
    // As root the child is runuser; the pidfile names PgBouncer itself.
    let pid: number | undefined;
    try {
      pid = Number(readFileSync(join(this.dir, 'pgbouncer.pid'), 'utf8').trim());
    } catch {
      pid = this.child.pid;
    }
    const signal = (name: NodeJS.Signals) => {
      try {
        if (pid) process.kill(pid, name);
      } catch {
        // Already gone.
      }
    };
    signal('SIGTERM');
    const timer = setTimeout(() => signal('SIGKILL'), 5_000);
    await this.exited;
    clearTimeout(timer);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
