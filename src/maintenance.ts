import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { DB } from './db/schema.ts';
import { purgeExpiredKeys } from './idempotency/idempotency.repository.ts';
import { purgeOldCounters } from './rate-limits/rate-limits.repository.ts';
import { purgeDeadSessions } from './auth/sessions.repository.ts';

/** What one maintenance run deleted. */
export interface MaintenanceResult {
  keys: number;
  counters: number;
  sessions: number;
}

/**
 * Deletes the shared state that has expired: idempotency keys past their lifetime, rate-limit
 * counters whose window ended long ago, and every user's sessions past either timeout (a login
 * deletes only its own user's). Hourly: the Node server runs it on a timer, the Lambda function
 * when the schedule in template.yaml invokes it. Any instance may run it at any time.
 */
export async function runMaintenance(
  db: Kysely<DB>,
  config: Pick<Config, 'sessionIdleMinutes'>,
  logger: Logger,
): Promise<MaintenanceResult> {
  const [keys, counters, sessions] = await Promise.all([
    purgeExpiredKeys(db),
    purgeOldCounters(db),
    purgeDeadSessions(db, config.sessionIdleMinutes),
  ]);
  if (keys + counters + sessions > 0) {
    logger.info({ keys, counters, sessions }, 'expired idempotency keys, rate-limit counters and sessions purged');
  }
  return { keys, counters, sessions };
}
