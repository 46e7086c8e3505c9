import pino, { type DestinationStream, type Logger } from 'pino';
import type { Config } from './config.ts';

// Driver errors carry bound parameters (`params`, `parameters`) and PostgreSQL's `detail`
// ("Failing row contains (…)"), which can hold password hashes and token hashes. Only these
// fields of an error are ever logged.
const LOGGED_ERROR_FIELDS = ['type', 'message', 'stack', 'code', 'constraint', 'constraint_name', 'table', 'column', 'routine'] as const;

function serializeError(err: unknown): Record<string, unknown> {
  const full = pino.stdSerializers.err(err as Error) as unknown as Record<string, unknown>;
  return Object.fromEntries(LOGGED_ERROR_FIELDS.filter((k) => full[k] !== undefined).map((k) => [k, full[k]]));
}

/** JSON lines at `level`, on stdout unless a destination is given; errors are logged without values. */
export function createLogger(level: Config['logLevel'], destination?: DestinationStream): Logger {
  return pino({ level, serializers: { err: serializeError } }, destination);
}
