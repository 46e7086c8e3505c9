import { createHash } from 'node:crypto';
import { z } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { AppError, validationError } from '../errors/app-error.ts';
import type { AppDeps, AppEnv } from '../http/app-deps.ts';
import { claimKey, findKey, releaseKey, storeResponse } from './idempotency.repository.ts';

const HEADER = 'Idempotency-Key';
const KEY_SHAPE = /^[\x21-\x7E]{1,255}$/;
// Only these headers of the first response are replayed with its status and body.
const REPLAYED_HEADERS = ['content-type', 'location', 'etag'];

function scopeOf(c: Context<AppEnv>, deps: AppDeps): string {
  const caller = c.get('caller') as AppEnv['Variables']['caller'] | undefined;
  return caller ? `user:${caller.user.id}` : `anon:${deps.clientIp(c) ?? 'unknown'}`;
}

async function fingerprint(c: Context<AppEnv>): Promise<string> {
  // The JSON body gate has already read the body (within the size limit) when the route takes
  // one; a route without a body is identified by its method and path alone.
  const body = c.req.bodyCache.text === undefined ? '' : await c.req.text();
  return createHash('sha256').update(`${c.req.method} ${c.req.path}\n${body}`).digest('hex');
}

function replay(c: Context, status: number, headers: string | null, body: string | null): Response {
  const stored = JSON.parse(headers ?? '{}') as Record<string, string>;
  return c.body(body ?? '', status as ContentfulStatusCode, { ...stored, 'Idempotent-Replayed': 'true' });
}

/**
 * `Idempotency-Key` support (docs/spec.md §5) for a POST that creates or restores. The key is scoped to the
 * caller (or the client IP before signup) and kept in the database, so it holds across instances:
 * the first attempt runs and its response is stored (a 5xx is not, so a retry may succeed); the
 * same request again gets that response with `Idempotent-Replayed: true`; another request with the
 * key is 422; a request while the first still runs is 409. Without the header it does nothing.
 */
export function idempotency(deps: AppDeps): MiddlewareHandler<AppEnv> {
  const { db } = deps;
  return async (c, next) => {
    const key = c.req.header(HEADER);
    if (key === undefined) {
      await next();
      return;
    }
    if (!KEY_SHAPE.test(key)) throw validationError([{ field: HEADER, code: 'format' }]);
    const scope = scopeOf(c, deps);
    const print = await fingerprint(c);

    if (!(await claimKey(db, scope, key, print))) {
      const stored = await findKey(db, scope, key);
      if (stored && stored.fingerprint !== print) throw new AppError('IDEMPOTENCY_KEY_MISMATCH', { field: HEADER });
      if (stored?.response_status == null) throw new AppError('IDEMPOTENCY_KEY_IN_USE', { field: HEADER });
      return replay(c, stored.response_status, stored.response_headers, stored.response_body);
    }

    await next();
    const res = c.res;
    if (res.status >= 500) {
      await releaseKey(db, scope, key);
      return;
    }
    const headers = Object.fromEntries(REPLAYED_HEADERS.flatMap((h) => (res.headers.has(h) ? [[h, res.headers.get(h) ?? '']] : [])));
    await storeResponse(db, scope, key, { status: res.status, headers, body: await res.clone().text() });
  };
}

/** The `Idempotency-Key` request header, for the OpenAPI document. */
export const IdempotencyKeyHeader = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .regex(KEY_SHAPE)
    .optional()
    // No `example`: Swagger UI would pre-fill it, and every later try would replay or be refused.
    .openapi({
      description:
        'Makes a retry safe: the same key and request replay the first response (`Idempotent-Replayed: true`) ' +
        'for 24 h; the same key with another request is a 422. Use a new key, e.g. a UUID, for each new request.',
    }),
});
