import { spawn, type ChildProcess } from 'node:child_process';
import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { lockWaiters, onPostgres, openTestDatabase, uniqueName, type TestDatabase } from './support/harness.ts';
import { freePort } from './support/free-port.ts';
import { connectClient } from './support/pg-client.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

const running = new Set<ChildProcess>();

// A test that fails before its signal must not leave its server behind.
afterEach(() => {
  for (const proc of running) if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  running.clear();
});

interface RunningServer {
  proc: ChildProcess;
  port: number;
  lines: string[];
  stderr: string[];
  exited: Promise<{ code: number | null; at: number }>;
}

const FROM_SOURCE = ['--import', 'tsx', 'src/entry/server.ts'];

/** Starts `src/entry/server.ts` (or `entry`) as its own process and waits until it listens. */
async function startServer(databaseUrl: string, entry = FROM_SOURCE): Promise<RunningServer> {
  const port = await freePort();
  const proc = spawn(process.execPath, entry, {
    cwd: root,
    env: { ...process.env, PORT: String(port), DATABASE_URL: databaseUrl, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(proc);
  const lines: string[] = [];
  const stderr: string[] = [];
  proc.stderr.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const exited = new Promise<{ code: number | null; at: number }>((resolve) =>
    proc.on('exit', (code) => resolve({ code, at: Date.now() })),
  );
  await new Promise<void>((resolve, reject) => {
    proc.stdout.on('data', (chunk: Buffer) => {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      if (lines.some((l) => l.includes('"listening"'))) resolve();
    });
    void exited.then(() => reject(new Error(`server exited early: ${lines.join('\n')}`)));
  });
  return { proc, port, lines, stderr, exited };
}

interface Sent {
  /** Resolves once the server has parsed the request's headers (it answered `100 Continue`). */
  received: Promise<void>;
  /** Sends the body; until then the server is waiting for it, mid-request. */
  sendBody: () => void;
  response: Promise<{ status: number; body: string }>;
}

/**
 * A signup on a connection of its own, sent with `Expect: 100-continue`: the server's `100 Continue`
 * proves the request is in its hands, not merely in the kernel's accept queue.
 */
function sendSignup(port: number, name: string): Sent {
  const body = JSON.stringify({ username: name, password: 'password-123', nickname: 'n', email: `${name}@example.com` });
  let received!: () => void;
  const receivedPromise = new Promise<void>((resolve) => (received = resolve));
  let sendBody!: () => void;
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/api/users',
        method: 'POST',
        agent: false,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), expect: '100-continue' },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('continue', received);
    req.on('error', reject);
    req.flushHeaders();
    sendBody = () => req.end(body);
  });
  return { received: receivedPromise, sendBody, response };
}

function refusesConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/health/live', agent: false }, () => resolve(false));
    req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
    req.end();
  });
}

describe('SIGTERM', () => {
  it('lets in-flight signups (argon2 included) finish, then exits 0', async () => {
    const database = onPostgres() ? await openTestDatabase() : undefined;
    try {
      const server = await startServer(database?.url ?? 'pglite://memory');
      const sent = Array.from({ length: 8 }, () => sendSignup(server.port, uniqueName('drain')));
      await Promise.all(sent.map((s) => s.received));
      const signalled = Date.now();
      server.proc.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 100));
      expect(await refusesConnections(server.port)).toBe(true);
      // The bodies, and so the argon2id work, arrive only now, while the server drains.
      for (const s of sent) s.sendBody();
      const responses = await Promise.all(sent.map((s) => s.response));
      expect(responses.map((r) => r.status)).toEqual(Array(8).fill(201));
      const { code, at } = await server.exited;
      expect(code).toBe(0);
      expect(at - signalled).toBeLessThan(10_000);
      expect(server.lines.some((l) => l.includes('"stopped"'))).toBe(true);
    } finally {
      await database?.close();
    }
  });
});

describe('SIGTERM after the reader of the log went away', () => {
  // Idle, the last lines are still unwritten when the server exits; busy, they fail while it drains.
  it.each([0, 4])(
    'the built server drains %i in-flight signups and exits 0; log lines are dropped, said once on stderr',
    async (count) => {
      // dist/ is what `npm start` runs; the test run's global setup built it.
      const server = await startServer('pglite://memory', ['dist/server.mjs']);
      // A log shipper that crashed: nothing reads the server's stdout any more.
      server.proc.stdout!.destroy();
      const sent = Array.from({ length: count }, () => sendSignup(server.port, uniqueName('nolog')));
      await Promise.all(sent.map((s) => s.received));
      const signalled = Date.now();
      server.proc.kill('SIGTERM');
      for (const s of sent) s.sendBody();
      const responses = await Promise.all(sent.map((s) => s.response));
      expect(responses.map((r) => r.status)).toEqual(Array(count).fill(201));
      const { code, at } = await Promise.race([
        server.exited,
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('still running 20 s after SIGTERM')), 20_000)),
      ]);
      expect(code).toBe(0);
      expect(at - signalled).toBeLessThan(10_000);
      expect(server.stderr.join('')).toBe('The log output failed (EPIPE): log lines are dropped from now on\n');
    },
    60_000,
  );
});

describe.skipIf(!onPostgres())('SIGTERM with a request held in the database', () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await openTestDatabase();
  });
  afterAll(() => database.close());

  async function holdSignup() {
    const server = await startServer(database.url!);
    const blocker = await connectClient(database.directUrl!);
    await blocker.query('begin');
    await blocker.query('lock table users in access exclusive mode');
    const held = sendSignup(server.port, uniqueName('held'));
    held.sendBody();
    let settled = 'still pending';
    held.response.then(
      (r) => (settled = `answered ${r.status} ${r.body}`),
      (e: unknown) => (settled = `failed ${String(e)}`),
    );
    // Not the blocker: inside its transaction pg_stat_activity is a snapshot taken at the first
    // look. Direct, to see the backends behind any pooler.
    const watcher = await connectClient(database.directUrl!);
    try {
      const deadline = Date.now() + 15_000;
      for (;;) {
        const { rows } = await watcher.query<{ n: number }>(
          `select count(*)::int as n from (${lockWaiters()}) w where application_name = 'projects-api'`,
        );
        if (rows[0]?.n === 1) break;
        if (Date.now() > deadline)
          throw new Error(`the signup never reached the lock; it ${settled}; server said:\n${server.lines.join('\n')}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    } finally {
      await watcher.end();
    }
    return { server, blocker, held };
  }

  it('stops accepting at once, finishes the held request when it can, closes the pool, exits 0', async () => {
    const { server, blocker, held } = await holdSignup();
    server.proc.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 200));
    expect(await refusesConnections(server.port)).toBe(true);
    expect(server.proc.exitCode).toBeNull();
    await blocker.query('rollback');
    await blocker.end();
    expect((await held.response).status).toBe(201);
    expect((await server.exited).code).toBe(0);
    expect(server.lines.some((l) => l.includes('"stopped"'))).toBe(true);
  });

  it('a second signal more than a second later exits at once without waiting', async () => {
    const { server, blocker, held } = await holdSignup();
    const outcome = held.response.then(
      () => 'answered',
      () => 'cut off',
    );
    server.proc.kill('SIGTERM');
    // Later than the copies of one stop request arrive (SAME_STOP_REQUEST_MS): a deliberate second one.
    await new Promise((r) => setTimeout(r, 1_500));
    const second = Date.now();
    server.proc.kill('SIGTERM');
    const { code, at } = await server.exited;
    expect(code).toBe(1);
    expect(at - second).toBeLessThan(1_000);
    expect(await outcome).toBe('cut off');
    await blocker.query('rollback');
    await blocker.end();
  });
});

describe('npm start, stopped the way a terminal or a supervisor does it', () => {
  it.each(['SIGINT', 'SIGTERM'] as const)(
    '%s to the whole process group (npm forwards a second copy) drains in-flight signups as one stop request, exit 0',
    async (signal) => {
      const database = onPostgres() ? await openTestDatabase() : undefined;
      try {
        const port = await freePort();
        // Its own process group, as a shell gives a foreground job: the signal reaches npm and the server.
        const npm = spawn('npm', ['start'], {
          cwd: root,
          detached: true,
          env: { ...process.env, PORT: String(port), DATABASE_URL: database?.url ?? 'pglite://memory', LOG_LEVEL: 'info' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        running.add(npm);
        const lines: string[] = [];
        const exited = new Promise<number | null>((resolve) => npm.on('exit', (code) => resolve(code)));
        await new Promise<void>((resolve, reject) => {
          npm.stdout.on('data', (chunk: Buffer) => {
            lines.push(...chunk.toString().split('\n').filter(Boolean));
            if (lines.some((l) => l.includes('"listening"'))) resolve();
          });
          void exited.then(() => reject(new Error(`npm start exited early: ${lines.join('\n')}`)));
        });
        const sent = Array.from({ length: 8 }, () => sendSignup(port, uniqueName('npm')));
        await Promise.all(sent.map((s) => s.received));
        process.kill(-npm.pid!, signal);
        await new Promise((r) => setTimeout(r, 100));
        for (const s of sent) s.sendBody();
        const responses = await Promise.all(sent.map((s) => s.response));
        expect(responses.map((r) => r.status)).toEqual(Array(8).fill(201));
        expect(await exited).toBe(0);
        expect(lines.filter((l) => l.includes('"stopped"'))).toHaveLength(1);
        expect(lines.some((l) => l.includes('without draining'))).toBe(false);
      } finally {
        await database?.close();
      }
    },
    60_000,
  );
});
