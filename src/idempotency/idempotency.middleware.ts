import { createHash } from 'node:crypto';
import { z } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { AppError, validationError } from '../errors/app-error.ts';
import type { AppDeps, AppEnv } from '../http/app-deps.ts';
import { confirmKey, findKey, keyLockId, storeResponse, tryLockKey, type StoredKey } from './idempotency.repository.ts';

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

function replay(c: Context, stored: StoredKey, print: string): Response {
  if (stored.fingerprint !== print) throw new AppError('IDEMPOTENCY_KEY_MISMATCH', { field: HEADER });
  const headers = JSON.parse(stored.response_headers) as Record<string, string>;
  return c.body(stored.response_body, stored.response_status as ContentfulStatusCode, { ...headers, 'Idempotent-Replayed': 'true' });
}

async function outcome(res: Response) {
  const headers = Object.fromEntries(REPLAYED_HEADERS.flatMap((h) => (res.headers.has(h) ? [[h, res.headers.get(h) ?? '']] : [])));
  return { status: res.status, headers, body: await res.clone().text() };
}

/** Thrown out of the transaction to roll it back when the route answered with an error. */
class RollBack extends Error {}

export interface IdempotencyOptions {
  /**
   * Slow work for a request that is not a replay (signup's password hash), done before the
   * transaction opens so that no connection is held meanwhile.
   */
  prepare?: (c: Context<AppEnv>) => Promise<void>;
}

/**
 * `Idempotency-Key` support (docs/spec.md §5) for a POST that creates or restores. The key is scoped to the
 * caller (or the client IP before signup) and kept in the database, so it holds across instances.
 * A keyed request runs in one transaction that first takes the key's advisory lock (held: 409),
 * replays a recorded outcome (another request with the key: 422), or else runs the route on the
 * transaction (`c.var.db`) and records its response in it: the write and its outcome commit
 * together or not at all. A 4xx is recorded after the rollback (it wrote nothing); a 5xx is not
 * recorded, so a retry runs anew. Without the header it does nothing.
 */
export function idempotency(deps: AppDeps, options: IdempotencyOptions = {}): MiddlewareHandler<AppEnv> {
  const { db } = deps;
  return async (c, next) => {
    const key = c.req.header(HEADER);
    if (key === undefined) {
      await next();
      return;
    }
    if (!KEY_SHAPE.test(key)) throw validationError([{ field: HEADER, code: 'format' }]);
    const entry = { scope: scopeOf(c, deps), key, fingerprint: await fingerprint(c) };

    if (options.prepare) {
      const earlier = await findKey(db, entry.scope, key);
      if (earlier) {
        await confirmKey(db, entry.scope, key);
        return replay(c, earlier, entry.fingerprint);
      }
      await options.prepare(c);
    }
    let stored: StoredKey | undefined;
    try {
      await db.transaction().execute(async (trx) => {
        if (!(await tryLockKey(trx, keyLockId(entry.scope, key)))) throw new AppError('IDEMPOTENCY_KEY_IN_USE', { field: HEADER });
        stored = await findKey(trx, entry.scope, key);
        if (stored) {
          await confirmKey(trx, entry.scope, key);
          return;
        }
        c.set('db', trx);
        try {
          await next();
        } finally {
          c.set('db', db);
        }
        if (c.res.status >= 400) throw new RollBack();
        await storeResponse(trx, entry, await outcome(c.res));
      });
    } catch (err) {
      if (!(err instanceof RollBack)) throw err;
      if (c.res.status < 500) await storeResponse(db, entry, await outcome(c.res));
      return;
    }
    if (stored) return replay(c, stored, entry.fingerprint);
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
