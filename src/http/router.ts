import { OpenAPIHono } from '@hono/zod-openapi';
import type { Env } from 'hono';
import type { AppEnv } from './app-deps.ts';
import { validationHook } from './validation.ts';

/**
 * A router whose request validation fails in the API's own envelope (VALIDATION_FAILED with field
 * codes): every feature's routes and the app itself are built on one.
 */
export function createRouter<E extends Env = AppEnv>(): OpenAPIHono<E> {
  return new OpenAPIHono<E>({ defaultHook: validationHook });
}
