import type { Context, MiddlewareHandler } from 'hono';
import type { Kysely } from 'kysely';
import type { DB } from '../db/schema.ts';
import { AppError } from '../errors/app-error.ts';
import type { AppDeps, AppEnv } from '../http/app-deps.ts';
import { hit, type WindowCount } from './rate-limits.repository.ts';

/** The 429 of the limit `name` (the `limit` label of its metric) for a bucket that is over it. */
export function rateLimited(count: WindowCount, name: string): AppError {
  return new AppError('RATE_LIMITED', { headers: { 'Retry-After': String(Math.max(count.retryAfter, 1)) }, limit: name });
}

/** Counts a hit of `rule` and throws 429 past its limit per window; a limit of 0 turns the check off. */
export async function enforce(db: Kysely<DB>, bucket: string, rule: RateLimitRule): Promise<void> {
  if (rule.limit === 0) return;
  const count = await hit(db, bucket, rule.windowSeconds);
  if (count.hits > rule.limit) throw rateLimited(count, rule.name);
}

export interface RateLimitRule {
  /** Bucket prefix, e.g. `signup`. */
  name: string;
  /** Requests allowed per window (0: unlimited). */
  limit: number;
  windowSeconds: number;
}

/**
 * Middleware: at most `limit` requests per client address per window, counted in the database so
 * that every instance shares the count. Past it, 429 RATE_LIMITED with `Retry-After`.
 */
export function perClientAddress({ db, clientIp }: AppDeps, rule: RateLimitRule): MiddlewareHandler<AppEnv> {
  return async (c: Context, next) => {
    await enforce(db, `${rule.name}:${clientIp(c) ?? 'unknown'}`, rule);
    await next();
  };
}
