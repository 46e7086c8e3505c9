// SQLSTATE classes start with a digit, except F0, HV, P0 and XX; this keeps Node's five-letter
// socket codes (EPIPE) from passing for one.
const SQLSTATE = /^(?:[0-9][0-9A-Z]|F0|HV|P0|XX)[0-9A-Z]{3}$/;

/** SQLSTATE of a driver error (PGlite and node-postgres both put it in `code`), if it carries one. */
export function sqlState(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && SQLSTATE.test(code) ? code : undefined;
}

// Socket-level failures (Node), and our wrapper's pool wait limit and lost connections.
const CONNECTION_FAILURES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENOTFOUND',
  'POOL_TIMEOUT',
  'CONNECTION_LOST',
]);

// A node that refuses writes: a hot standby, a demoted primary, `default_transaction_read_only`
// (what a proxy still pointing at the old node during a failover reaches).
const READ_ONLY = '25006';

// Server going away or overloaded, statement timeout, serialization failure or deadlock, and a
// read-only node: all worth retrying later, none the client's fault.
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300', '53400', '57014', '40001', '40P01', READ_ONLY]);

/** Whether `err` means the database is unreachable or overloaded right now (a 503, not a 500). */
export function isDatabaseUnavailable(err: unknown): boolean {
  const state = sqlState(err);
  if (state !== undefined) return state.startsWith('08') || UNAVAILABLE_STATES.has(state);
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CONNECTION_FAILURES.has(code);
}

// The backend is gone after these (admin or crash shutdown, starting up, connection exceptions);
// a connection to a read-only node is dropped, so that the next one reaches the node that now
// takes writes once the proxy, DNS or host list points there.
const FATAL_STATES = new Set(['57P01', '57P02', '57P03', READ_ONLY]);

/**
 * Whether the driver failed to complete a round trip (socket closed, connect failed or timed out).
 * Every error PostgreSQL itself reports carries a SQLSTATE; the drivers' own failures to reach it
 * do not, and some (node-postgres's "Connection terminated unexpectedly") carry no code at all.
 * A TypeError is a bug of ours, not a lost connection.
 */
export function isConnectionLost(err: unknown): boolean {
  return sqlState(err) === undefined && !(err instanceof TypeError);
}

/**
 * Whether the connection that raised `err` must not go back to the pool: the backend ended it, the
 * driver lost it, or it reached a node that refuses writes.
 */
export function isConnectionFatal(err: unknown): boolean {
  const state = sqlState(err);
  return state === undefined ? isConnectionLost(err) : state.startsWith('08') || FATAL_STATES.has(state);
}

/** Whether PostgreSQL refused a value as malformed (class 22: data exception); bad input, not a fault. */
export function isDataException(err: unknown): boolean {
  return sqlState(err)?.startsWith('22') ?? false;
}

/**
 * Whether PostgreSQL refused to run a prepared statement because a migration changed the type of
 * what it returns ("cached plan must not change result type", raised while revalidating the plan).
 * The same text prepared again runs.
 */
export function isStalePlan(err: unknown): boolean {
  return sqlState(err) === '0A000' && (err as { routine?: unknown }).routine === 'RevalidateCachedQuery';
}

/** Whether PostgreSQL refused a write because the node or session is read-only (25006). */
export function isReadOnly(err: unknown): boolean {
  return sqlState(err) === READ_ONLY;
}

// Citus names a shard's copy of an index or constraint `<name>_<shard id>`.
const SHARD_SUFFIX = /_\d+$/;
const QUOTED_CONSTRAINT = /constraint "([^"]+)"/;

/**
 * The entry of `known` for the constraint a violation names. PostgreSQL and PGlite report the
 * name in `constraint`. Citus re-raises a worker's violation without it, and with the name of the
 * shard's copy in the message: the one place this service reads an error's text. A shard's name
 * found either way is mapped back to the table's.
 */
export function violatedConstraint<T>(err: unknown, known: ReadonlyMap<string, T>): T | undefined {
  const field = (err as { constraint?: unknown }).constraint;
  const message = (err as { message?: unknown }).message;
  const name = typeof field === 'string' ? field : typeof message === 'string' ? QUOTED_CONSTRAINT.exec(message)?.[1] : undefined;
  if (name === undefined) return undefined;
  return known.get(name) ?? known.get(name.replace(SHARD_SUFFIX, ''));
}
