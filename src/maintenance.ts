import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { DB } from './db/schema.ts';
import { purgeExpiredKeys } from './idempotency/idempotency.repository.ts';
import { purgeOldCounters } from './rate-limits/rate-limits.repository.ts';

/** What one maintenance run deleted. */
export interface MaintenanceResult {
  keys: number;
  counters: number;
}

/**
 * Deletes the shared state that has expired: idempotency keys past their lifetime and rate-limit
 * counters whose window ended long ago. Hourly: the Node server runs it on a timer, the Lambda
 * function when the schedule in template.yaml invokes it. Any instance may run it at any time.
 */
export async function runMaintenance(db: Kysely<DB>, logger: Logger): Promise<MaintenanceResult> {
  const [keys, counters] = await Promise.all([purgeExpiredKeys(db), purgeOldCounters(db)]);
  if (keys + counters > 0) logger.info({ keys, counters }, 'expired idempotency keys and rate-limit counters purged');
  return { keys, counters };
}
