import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { sql } from 'kysely';
import { AppError } from '../errors/app-error.ts';
import { RETRY_AFTER_SECONDS } from '../errors/to-app-error.ts';
import type { AppDeps, AppEnv } from '../http/env.ts';
import { errorResponses, jsonResponse, ok, success } from '../http/openapi.ts';
import { requestLogger } from '../http/request-context.ts';

const HealthSchema = success(z.object({ status: z.enum(['live', 'ready']) })).openapi('Health');

/** `/health/live` (the process runs) and `/health/ready` (the database answers). */
export function healthRoutes({ db }: AppDeps) {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(
    createRoute({
      method: 'get',
      path: '/health/live',
      tags: ['operations'],
      summary: 'Liveness: 200 while the process runs',
      responses: { 200: jsonResponse('Live', HealthSchema) },
    }),
    (c) => c.json(ok({ status: 'live' as const }), 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/health/ready',
      tags: ['operations'],
      summary: 'Readiness: 200 when the database answers, else 503',
      responses: { 200: jsonResponse('Ready', HealthSchema), ...errorResponses() },
    }),
    async (c) => {
      try {
        await sql`select 1`.execute(db);
      } catch (err) {
        requestLogger(c).warn({ err }, 'database not ready');
        throw new AppError('SERVICE_UNAVAILABLE', { headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) } });
      }
      return c.json(ok({ status: 'ready' as const }), 200);
    },
  );

  return app;
}
