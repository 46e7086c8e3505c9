import { execFile } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './free-port.ts';
import { connectClient } from './pg-client.ts';

const run = promisify(execFile);
const BIN = '/usr/lib/postgresql/15/bin';

/** Whether this machine can start a PostgreSQL cluster of a test's own (Debian's binaries). */
export function canRunPrivatePostgres(): boolean {
  return ['pg_ctl', 'initdb', 'pg_basebackup'].every((command) => existsSync(join(BIN, command)));
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * A PostgreSQL cluster in a temporary directory on a free port, which a test may restart, crash,
 * replicate and promote: what a failover or a crash does to the app, without touching the shared
 * server. PostgreSQL refuses to run as root, so as root it runs as the `postgres` user.
 *
 * Every cluster can serve as a primary (wal_level=replica and WAL senders); `standbyOf` makes a hot
 * standby of one that the primary waits for on every commit. Durability is traded for speed
 * (fsync=off, initdb --no-sync): a test kills processes, never the machine, so what a process
 * wrote is still in the page cache.
 */
export class PrivatePostgres {
  private constructor(
    private readonly dir: string,
    readonly port: number,
    /** What `application_name` its WAL receiver reports to a primary: cluster_name. */
    readonly name: string,
  ) {}

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** host:port, as a multi-host DATABASE_URL lists it. */
  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  private get data(): string {
    return join(this.dir, 'data');
  }

  private static exec(command: string, args: string[]) {
    const asRoot = process.getuid?.() === 0;
    return asRoot ? run('runuser', ['-u', 'postgres', '--', join(BIN, command), ...args]) : run(join(BIN, command), args);
  }

  private static async create(): Promise<PrivatePostgres> {
    const dir = mkdtempSync('/tmp/projects-api-pg-');
    if (process.getuid?.() === 0) {
      const id = async (flag: string) => Number((await run('id', [flag, 'postgres'])).stdout.trim());
      chownSync(dir, await id('-u'), await id('-g'));
    }
    const port = await freePort();
    return new PrivatePostgres(dir, port, `node${port}`);
  }

  static async start(): Promise<PrivatePostgres> {
    const pg = await PrivatePostgres.create();
    await PrivatePostgres.exec('initdb', ['-D', pg.data, '-A', 'trust', '-U', 'postgres', '--no-sync']);
    await pg.ctl('start');
    return pg;
  }

  /**
   * A hot standby of `primary` on a port of its own, streaming from it, and made the primary's
   * synchronous standby: once this resolves, a commit the primary acknowledges has reached the
   * standby's WAL, so a promoted standby holds every acknowledged write. `via` is the port that
   * reaches the primary if not its own (a relay a test can stall); the standby streams through it.
   */
  static async standbyOf(primary: PrivatePostgres, via = primary.port): Promise<PrivatePostgres> {
    const standby = await PrivatePostgres.create();
    // -R writes primary_conninfo and standby.signal; -c fast does not wait for a spread checkpoint.
    await PrivatePostgres.exec('pg_basebackup', [
      ...['-h', '127.0.0.1', '-p', String(via), '-U', 'postgres'],
      ...['-D', standby.data, '-R', '-X', 'stream', '-c', 'fast', '--no-sync'],
    ]);
    await standby.ctl('start');
    // Set after the base backup, so that the standby, once promoted, does not wait for a standby of its own.
    await primary.execute(
      `alter system set synchronous_standby_names = '${standby.name}'`,
      `alter system set synchronous_commit = 'on'`,
      'select pg_reload_conf()',
    );
    await until(
      async () =>
        (
          await primary.query<{ sync_state: string }>(
            `select sync_state from pg_stat_replication where application_name = '${standby.name}'`,
          )
        )[0]?.sync_state === 'sync',
      `${standby.name} streaming as the synchronous standby`,
    );
    return standby;
  }

  private ctl(action: 'start' | 'restart') {
    const settings = [
      ...['listen_addresses=127.0.0.1', 'fsync=off', 'shared_buffers=16MB', 'wal_level=replica', 'max_wal_senders=4'],
      ...['hot_standby=on', `cluster_name=${this.name}`, 'log_connections=on'],
    ];
    const options = [`-p ${this.port}`, `-k ${this.dir}`, ...settings.map((s) => `-c ${s}`)].join(' ');
    return PrivatePostgres.exec('pg_ctl', ['-D', this.data, '-o', options, '-l', join(this.dir, 'log'), '-m', 'fast', '-w', action]);
  }

  /** Stops the server (ending every connection) and starts it again; resolves once it accepts connections. */
  async restart(): Promise<void> {
    await this.ctl('restart');
  }

  /** Stops the server; `immediate` kills it without a checkpoint, the way a crash would. */
  async stop(mode: 'fast' | 'immediate' = 'fast'): Promise<void> {
    await PrivatePostgres.exec('pg_ctl', ['-D', this.data, '-m', mode, '-w', 'stop']);
  }

  /** Ends recovery on a standby; resolves once it accepts writes. */
  async promote(): Promise<void> {
    await PrivatePostgres.exec('pg_ctl', ['-D', this.data, '-w', 'promote']);
    await until(async () => !(await this.query<{ r: boolean }>('select pg_is_in_recovery() as r'))[0]?.r, `${this.name} out of recovery`);
  }

  /** Waits until this standby has replayed everything `primary` has written so far: a read here sees it. */
  async caughtUpWith(primary: PrivatePostgres): Promise<void> {
    const [{ lsn } = { lsn: '' }] = await primary.query<{ lsn: string }>('select pg_current_wal_lsn()::text as lsn');
    await until(
      async () => (await this.query<{ done: boolean }>(`select pg_last_wal_replay_lsn() >= '${lsn}'::pg_lsn as done`))[0]?.done === true,
      `${this.name} replaying up to ${lsn}`,
    );
  }

  /** Rows of one statement, on a connection of its own. */
  async query<Row>(text: string, values: unknown[] = []): Promise<Row[]> {
    const client = await connectClient(this.url);
    try {
      return (await client.query(text, values)).rows as Row[];
    } finally {
      await client.end();
    }
  }

  private async execute(...statements: string[]): Promise<void> {
    for (const statement of statements) await this.query(statement);
  }

  /** How many sessions of `applicationName` this server has let in since it started (it logs every one). */
  connectionsOf(applicationName: string): number {
    const log = readFileSync(join(this.dir, 'log'), 'utf8');
    return log.split('\n').filter((line) => line.includes('connection authorized') && line.includes(`application_name=${applicationName}`))
      .length;
  }

  async destroy(): Promise<void> {
    await this.stop('immediate').catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
