import { write, writeSync } from 'node:fs';
import pino, { type DestinationStream, type Logger } from 'pino';
import type { Config } from './config.ts';

// Driver errors carry bound parameters (`params`, `parameters`) and PostgreSQL's `detail`
// ("Failing row contains (…)"), which can hold password hashes and token hashes. Only these
// fields of an error are ever logged.
const LOGGED_ERROR_FIELDS = ['type', 'message', 'stack', 'code', 'constraint', 'table', 'column', 'routine'] as const;

function serializeError(err: unknown): Record<string, unknown> {
  const full = pino.stdSerializers.err(err as Error) as unknown as Record<string, unknown>;
  const logged: Record<string, unknown> = Object.fromEntries(
    LOGGED_ERROR_FIELDS.filter((k) => full[k] !== undefined).map((k) => [k, full[k]]),
  );
  const { cause } = err as { cause?: unknown };
  if (cause !== undefined) logged.cause = serializeError(cause);
  return logged;
}

/** How long a write that a full pipe refused (EAGAIN) waits before it is tried again. */
const BUSY_RETRY_MS = 10;

/**
 * Log lines on stdout (fd 1), written without blocking the event loop. A slow reader (a full
 * pipe) is waited for. A reader that went away (EPIPE), or any other failed write, is given up
 * on: from then on lines are dropped, which one line on stderr says, and nothing waits for them.
 * pino's own destination retried such a write forever while the process exited, so a server whose
 * log shipper had crashed never stopped.
 */
export class StdoutLog implements DestinationStream {
  private queue: string[] = [];
  private writing = false;
  private broken = false;
  private waiting: (() => void)[] = [];

  write(line: string): void {
    if (this.broken) return;
    this.queue.push(line);
    if (!this.writing) this.writeQueued();
  }

  /** Resolves once every line so far is written or dropped, or after `limitMs`, whichever is first. */
  settled(limitMs: number): Promise<void> {
    if (!this.writing) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, limitMs);
      this.waiting.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private writeQueued(): void {
    const chunk = this.queue.join('');
    this.queue = [];
    this.writing = chunk !== '';
    if (this.writing) this.send(Buffer.from(chunk));
    else for (const settle of this.waiting.splice(0)) settle();
  }

  private send(chunk: Buffer): void {
    write(1, chunk, 0, chunk.length, null, (err, written) => {
      if (err?.code === 'EAGAIN') {
        setTimeout(() => {
          this.send(chunk);
        }, BUSY_RETRY_MS).unref();
      } else if (err) this.fail(err);
      else if (written < chunk.length) this.send(chunk.subarray(written));
      else this.writeQueued();
    });
  }

  private fail(err: NodeJS.ErrnoException): void {
    this.broken = true;
    this.queue = [];
    this.writeQueued();
    try {
      writeSync(2, `The log output failed (${err.code ?? err.message}): log lines are dropped from now on\n`);
    } catch {
      // stderr is gone too: there is no one left to tell.
    }
  }
}

/**
 * JSON lines at `level`; errors are logged without values. Without a destination, pino's own
 * synchronous stdout: what Lambda needs, since a container is frozen as soon as its invocation
 * answers and a line still queued would surface in a later invocation or never. The Node server
 * passes a StdoutLog.
 */
export function createLogger(level: Config['logLevel'], destination?: DestinationStream): Logger {
  const options = { level, serializers: { err: serializeError } };
  return destination ? pino(options, destination) : pino(options);
}
