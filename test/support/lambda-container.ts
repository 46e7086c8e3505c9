import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

const RUNNER = fileURLToPath(new URL('../../scripts/lambda-runner.mjs', import.meta.url));

/** Where a built handler is: the artifact folder and template.yaml's `<file>.<export>`. */
export interface HandlerLocation {
  dir: string;
  handler: string;
}

/** What the handler returned, read like an HTTP response. */
export interface LambdaResponse {
  status: number;
  /** Lower-case names; from `headers` or, for multi-value results, the first of each. */
  headers: Record<string, string>;
  /** Set-Cookie values, wherever the result's format put them. */
  cookies: string[];
  body: any;
  raw: any;
}

function readResult(raw: any): LambdaResponse {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries<string>(raw.headers ?? {})) headers[k.toLowerCase()] = v;
  for (const [k, v] of Object.entries<string[]>(raw.multiValueHeaders ?? {})) headers[k.toLowerCase()] ??= v[0] ?? '';
  const cookies: string[] =
    raw.cookies ?? raw.multiValueHeaders?.['set-cookie'] ?? (raw.headers?.['set-cookie'] ? [raw.headers['set-cookie']] : []);
  const text = raw.isBase64Encoded ? Buffer.from(raw.body, 'base64').toString('utf8') : raw.body;
  const json = (headers['content-type'] ?? '').includes('json') && text;
  return { status: raw.statusCode, headers, cookies, body: json ? JSON.parse(text) : text, raw };
}

/**
 * One Lambda container: a process that imported the built handler from the artifact folder (its
 * init phase ran once), answering events. Its stdout (the handler's logs) is kept in `logs`.
 */
export class LambdaContainer {
  /** Every JSON line the handler wrote to stdout, parsed. */
  readonly logs: Record<string, unknown>[];
  readonly initMs: number;
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (r: LambdaResponse) => void; reject: (e: Error) => void }>();
  #next = 0;

  private constructor(child: ChildProcess, initMs: number, lines: AsyncIterator<string>, logs: Record<string, unknown>[]) {
    this.#child = child;
    this.initMs = initMs;
    this.logs = logs;
    void (async () => {
      for (let line = await lines.next(); !line.done; line = await lines.next()) {
        const message = JSON.parse(line.value);
        const waiter = this.#pending.get(message.id);
        this.#pending.delete(message.id);
        if (message.error) waiter?.reject(new Error(message.error));
        else waiter?.resolve(readResult(message.result));
      }
    })();
  }

  /**
   * Starts a container with `env` as its whole environment (and PATH). It is ready when the
   * handler module has finished its init phase; an init failure rejects with what it printed.
   */
  static async start({ dir, handler }: HandlerLocation, env: Record<string, string>): Promise<LambdaContainer> {
    const child = spawn(process.execPath, [RUNNER, dir, handler], {
      cwd: dir,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      env: { PATH: process.env.PATH, ...env },
    });
    const logs: Record<string, unknown>[] = [];
    let printed = '';
    createInterface({ input: child.stdout }).on('line', (line) => {
      printed += `${line}\n`;
      try {
        logs.push(JSON.parse(line));
      } catch {
        // Not a log line; kept in `printed` for an init failure's message.
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      printed += chunk.toString();
    });
    const lines = createInterface({ input: child.stdio[3] as Readable })[Symbol.asyncIterator]();
    const first = await lines.next();
    const hello = first.done ? {} : JSON.parse(first.value);
    if (!hello.ready) {
      child.kill();
      throw new Error(`the handler failed to initialise: ${hello.initError ?? ''}\n${printed}`);
    }
    return new LambdaContainer(child, hello.initMs, lines, logs);
  }

  /** Invokes the handler with one event. */
  invoke(event: unknown): Promise<LambdaResponse> {
    const id = ++this.#next;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      (this.#child.stdin as Writable).write(`${JSON.stringify({ id, event })}\n`);
    });
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#child.exitCode !== null) {
        resolve();
        return;
      }
      this.#child.once('exit', () => {
        resolve();
      });
      this.#child.kill();
    });
  }
}
