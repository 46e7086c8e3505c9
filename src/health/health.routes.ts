import { createRoute, z } from '@hono/zod-openapi';
import { sql } from 'kysely';
import { AppError } from '../errors/app-error.ts';
import { RETRY_AFTER_SECONDS } from '../http/to-app-error.ts';
import { createRouter } from '../http/router.ts';
import { errorResponses, jsonResponse, successBody, PUBLIC, successSchema } from '../http/openapi.ts';
import { requestLogger } from '../http/request-context.ts';
import { respondJson } from '../http/json-response.ts';

const HealthSchema = successSchema(z.object({ status: z.enum(['live', 'ready']) })).openapi('Health');

const LIVE = createRoute({
  method: 'get',
  path: '/health/live',
  tags: ['operations'],
  operationId: 'checkLiveness',
  summary: 'Liveness: 200 while the process runs',
  description: '200 while the process runs; it does not touch the database.',
  security: PUBLIC,
  responses: { 200: jsonResponse('Live', HealthSchema), ...errorResponses() },
});

const READY = createRoute({
  method: 'get',
  path: '/health/ready',
  tags: ['operations'],
  operationId: 'checkReadiness',
  summary: 'Readiness: 200 when the database takes writes, else 503',
  description:
    '200 when the database answers a query and takes writes; 503 `SERVICE_UNAVAILABLE` with `Retry-After` when it does not answer within `DB_STATEMENT_TIMEOUT_MS`, or is read-only (a hot standby, a demoted primary, `default_transaction_read_only`).',
  security: PUBLIC,
  responses: { 200: jsonResponse('Ready', HealthSchema), ...errorResponses() },
});

// A node in recovery or read-only answers queries but refuses every write: not ready. Raised as
// 25006, so the connection that reached it is dropped like any other that met a read-only node.
const WRITABLE = sql`do $$ begin
  if pg_is_in_recovery() or current_setting('transaction_read_only') = 'on' then
    raise exception 'the database refuses writes' using errcode = '25006';
  end if;
end $$`;

/** `/health/live` (the process runs) and `/health/ready` (the database answers and takes writes). */
export function healthRoutes() {
  return createRouter()
    .openapi(LIVE, (c) => respondJson(c, successBody({ status: 'live' as const }), 200))
    .openapi(READY, async (c) => {
      try {
        await WRITABLE.execute(c.get('db'));
      } catch (err) {
        requestLogger(c).warn({ err }, 'database not ready');
        throw new AppError('SERVICE_UNAVAILABLE', { headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) }, cause: err });
      }
      return respondJson(c, successBody({ status: 'ready' as const }), 200);
    });
}
