import type { Config } from '../config.ts';
import { sqlState } from '../db/driver-errors.ts';
import { redactUrl } from '../db/database.ts';

/** What the Node server was doing when start-up failed. */
export type StartupStage = 'database' | 'migrate' | 'listen' | 'listen-metrics';

// The first round trip of start-up is the migration; these mean it never reached PostgreSQL's
// SQL layer: sockets, the wrapper's connection timeouts, the connection exceptions (08),
// authentication (28), a database that does not exist, a server refusing new connections.
const CONNECT_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'POOL_TIMEOUT',
  'CONNECTION_LOST',
]);
const CONNECT_STATES = new Set(['3D000', '53300', '57P03']);

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function isConnectFailure(err: unknown): boolean {
  const state = sqlState(err);
  if (state !== undefined) return state.startsWith('08') || state.startsWith('28') || CONNECT_STATES.has(state);
  return CONNECT_CODES.has(codeOf(err) ?? '');
}

/** The driver's own words, without the wrappers: the innermost cause that says something. */
function reason(err: unknown): string {
  let current: unknown = err;
  while (codeOf(current) === 'CONNECTION_LOST' && current instanceof Error && current.cause !== undefined) current = current.cause;
  const message = current instanceof Error ? current.message : String(current);
  // Node reports a refused `localhost` as an AggregateError of its addresses, with no message.
  return (message.split('\n')[0] ?? '').trim() || codeOf(current) || 'unknown error';
}

/**
 * One line for a failure to start, naming the setting to look at: printed instead of a stack
 * trace, which would tell an operator less. Passwords in DATABASE_URL are masked.
 */
export function startupFailure(stage: StartupStage, err: unknown, config: Config): string {
  const database = `DATABASE_URL (${redactUrl(config.databaseUrl)})`;
  if (stage === 'listen' || stage === 'listen-metrics') {
    const port = stage === 'listen' ? `PORT ${config.port}` : `METRICS_PORT ${config.metricsPort}`;
    const code = codeOf(err);
    if (code === 'EADDRINUSE') return `Cannot listen: ${port} is already in use`;
    if (code === 'EACCES') return `Cannot listen: ${port} needs privileges this process does not have`;
    return `Cannot listen on ${port}: ${reason(err)}`;
  }
  if (stage === 'migrate' && !isConnectFailure(err)) return `Migration failed on ${database}: ${reason(err)}`;
  if (config.databaseUrl.startsWith('pglite://')) return `Cannot open the database at ${database}: ${reason(err)}`;
  return `Cannot reach the database at ${database}: ${reason(err)}`;
}
