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

/** JSON lines at `level`, on stdout unless a destination is given; errors are logged without values. */
export function createLogger(level: Config['logLevel'], destination?: DestinationStream): Logger {
  return pino({ level, serializers: { err: serializeError } }, destination);
}
