import { createHash } from 'node:crypto';
import { z } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { AppError, validationError } from '../errors/app-error.ts';
import type { AppDeps, AppEnv } from '../http/app-deps.ts';
import { sqlState } from '../db/driver-errors.ts';
import { anonymousScope, recordedOutcome, recordOutcome, type StoredKey } from './idempotency.repository.ts';

const HEADER = 'Idempotency-Key';
const KEY_SHAPE = /^[\x21-\x7E]{1,255}$/;
// Only these headers of the first response are replayed with its status and body.
const REPLAYED_HEADERS = ['content-type', 'location', 'etag'];

function scopeOf(c: Context<AppEnv>, deps: AppDeps): string {
  const caller = c.get('caller') as AppEnv['Variables']['caller'] | undefined;
  return caller ? caller.user.id : anonymousScope(deps.clientIp(c) ?? 'unknown');
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
  // A route that ran before the replay was decided left its own response, whose headers Hono
  // carries into the next one: none that describes that response may reach the replay.
  if (c.finalized) for (const h of [...REPLAYED_HEADERS, 'content-length']) c.res.headers.delete(h);
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
 * Inside the attempt's transaction, a statement that times out recording the outcome was waiting
 * for another attempt with the key, still running: a 409 to retry. (Outside one, the same timeout
 * may be a commit's wait for a standby, and stays a 503.)
 */
function inUseOnTimeout(err: unknown): unknown {
  return sqlState(err) === '57014' ? new AppError('IDEMPOTENCY_KEY_IN_USE', { field: HEADER }) : err;
}

/**
 * `Idempotency-Key` support (docs/spec.md §5) for a POST that creates or restores. The key is
 * scoped to the caller (or the client IP before signup) and kept in the database, so it holds
 * across instances. A keyed request runs the route in one transaction (`c.var.db`) and records its
 * response under the key in it: the write and its outcome commit together or not at all, on the
 * caller's shard when the database is distributed. The key's primary key decides between two
 * attempts: the second waits for the first's transaction, then rolls its own work back and
 * replays the first's outcome (another request with the key: 422). A 4xx is recorded after the
 * rollback (it wrote nothing); a 5xx is not recorded, so a retry runs anew. Without the header it
 * does nothing.
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
    const entry = { scopeId: scopeOf(c, deps), key, fingerprint: await fingerprint(c) };

    if (options.prepare) {
      const earlier = await recordedOutcome(db, entry);
      if (earlier) return replay(c, earlier, entry.fingerprint);
      await options.prepare(c);
    }
    let recorded = false;
    try {
      await db.transaction().execute(async (trx) => {
        c.set('db', trx);
        try {
          await next();
        } finally {
          c.set('db', db);
        }
        if (c.res.status >= 400) throw new RollBack();
        recorded = await recordOutcome(trx, entry, await outcome(c.res)).catch((err: unknown) => {
          throw inUseOnTimeout(err);
        });
        if (!recorded) throw new RollBack();
      });
    } catch (err) {
      if (!(err instanceof RollBack)) throw err;
      if (c.res.status >= 500) return;
      if (c.res.status >= 400) recorded = await recordOutcome(db, entry, await outcome(c.res));
    }
    if (recorded) return;
    const stored = await recordedOutcome(db, entry);
    // Recorded a moment ago and already gone: only an expiry purge between the two statements.
    if (!stored) throw new AppError('IDEMPOTENCY_KEY_IN_USE', { field: HEADER });
    c.res = replay(c, stored, entry.fingerprint);
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
