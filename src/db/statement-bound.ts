import { connect } from 'node:net';
import type pg from 'pg';

/**
 * How long a connection whose statement ran past its time may take to answer the CancelRequest
 * before it is destroyed: the bound on a stalled network path is the statement timeout plus this.
 */
export const CANCEL_GRACE_MS = 1_000;

/** CancelRequest's fixed code (protocol 1234.5678), sent where a startup message's version goes. */
const CANCEL_REQUEST_CODE = 80877102;

/** What node-postgres keeps of a connection and its backend, typed where @types/pg does not. */
interface ClientInternals {
  host: string;
  port: number;
  processID: number | null;
  secretKey: number | null;
  connection: { stream: { destroy(): void } };
}

function internals(client: pg.PoolClient): ClientInternals {
  return client as unknown as ClientInternals;
}

/**
 * Asks the server to cancel the statement `client` is running: a CancelRequest on a connection of
 * its own, to the address `client` reached. A pooler (PgBouncer) gave the client its own key and
 * forwards the request to the backend that runs the statement. The socket stays open until the
 * server closes it (PgBouncer drops the request if the client hangs up first) or `giveUpMs` passes.
 */
function sendCancel(client: pg.PoolClient, giveUpMs: number): void {
  const { host, port, processID, secretKey } = internals(client);
  if (processID === null || secretKey === null) return;
  const socket = host.startsWith('/') ? connect(`${host}/.s.PGSQL.${port}`) : connect(port, host);
  socket.setTimeout(giveUpMs, () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.on('connect', () => {
    const packet = Buffer.alloc(16);
    packet.writeInt32BE(16, 0);
    packet.writeInt32BE(CANCEL_REQUEST_CODE, 4);
    packet.writeInt32BE(processID, 8);
    packet.writeInt32BE(secretKey, 12);
    socket.write(packet);
  });
  socket.resume();
}

/**
 * Runs one statement on `client`, bounded by `timeoutMs`. The bound is kept here, not by the
 * server's `statement_timeout`: a pooler refuses that startup parameter (PgBouncer) or shares the
 * server session among clients, and a network path that stalls would never deliver the server's
 * error anyway. Past the bound the server is asked to cancel (57014 follows, a 503); a connection
 * that does not answer within CANCEL_GRACE_MS more is destroyed, which fails the statement.
 */
export async function runBounded<R extends pg.QueryResultRow>(
  client: pg.PoolClient,
  config: pg.QueryConfig,
  timeoutMs: number,
): Promise<pg.QueryResult<R>> {
  let cancelled = false;
  let grace: NodeJS.Timeout | undefined;
  const timer = setTimeout(() => {
    cancelled = true;
    sendCancel(client, timeoutMs + CANCEL_GRACE_MS);
    grace = setTimeout(() => {
      internals(client).connection.stream.destroy();
    }, CANCEL_GRACE_MS);
  }, timeoutMs);
  try {
    // node-postgres copies a config object, property descriptors and all, for every query; text
    // and values are taken as they are. Only a named statement needs the object.
    const result = await (config.name === undefined ? client.query<R>(config.text, config.values) : client.query<R>(config));
    // A COMMIT waiting for a synchronous standby that is cancelled reports success, with a warning
    // that it committed here but may not have been replicated: a failover now would lose it. Any
    // statement that finished only after its cancel was sent is answered as cut, so the caller
    // retries (with its key) instead of acknowledging what may be lost.
    if (cancelled) throw new StatementCutError(timeoutMs);
    return result;
  } finally {
    clearTimeout(timer);
    clearTimeout(grace);
  }
}

/** A statement past its bound that still finished: as 57014 (query_canceled), a 503. */
export class StatementCutError extends Error {
  readonly code = '57014';
  constructor(ms: number) {
    super(`The statement ran past ${ms} ms and was cancelled; its outcome is not acknowledged`);
    this.name = 'StatementCutError';
  }
}
