import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppDeps, AppEnv } from '../http/env.ts';
import { jsonBody } from '../http/json-body.ts';
import { errorResponses, IdParams, jsonResponse, ok, SESSION_SECURITY, success } from '../http/openapi.ts';
import { validationHook } from '../http/validation.ts';
import { idempotency, IdempotencyKeyHeader } from '../idempotency/idempotency.middleware.ts';
import { perClientAddress } from '../rate-limits/rate-limit.ts';
import { requireAuth } from '../sessions/auth.middleware.ts';
import { clearSessionCookie } from '../sessions/session-cookie.ts';
import {
  AvailabilityQuery,
  AvailabilitySchema,
  PublicUserSchema,
  SignupBody,
  UserPatchBody,
  UserSchema,
  publicUserView,
  userView,
} from './users.schemas.ts';
import { hashPassword } from './password.ts';
import { checkAvailability, deleteSelf, getUser, signUp, updateSelf } from './users.service.ts';

/**
 * Hashes a keyed signup's password before its transaction opens, so that no connection waits on
 * argon2; a body that will fail validation is left to the validator.
 */
async function hashSignupPassword(c: Context<AppEnv>): Promise<void> {
  const parsed = SignupBody.safeParse(await c.req.json().catch(() => undefined));
  if (parsed.success) c.set('passwordHash', await hashPassword(parsed.data.password));
}

/** Routes under /api/users. */
export function usersRoutes(deps: AppDeps) {
  const { db, config } = deps;
  const auth = requireAuth(deps);
  const body = jsonBody(config.bodyLimitBytes);
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  const security = SESSION_SECURITY;

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/users',
      tags: ['users'],
      summary: 'Sign up',
      middleware: [perClientAddress(deps, { name: 'signup', limit: config.rateLimitSignupPerMinute, windowSeconds: 60 }), body, idempotency(deps, { prepare: hashSignupPassword })] as const,
      request: { headers: IdempotencyKeyHeader, body: { required: true, content: { 'application/json': { schema: SignupBody } } } },
      responses: {
        201: {
          ...jsonResponse('The new user', success(UserSchema)),
          headers: { Location: { schema: { type: 'string' }, description: 'URL of the new user' } },
        },
        ...errorResponses(
          'INVALID_JSON',
          'VALIDATION_FAILED',
          'DUPLICATE_RESOURCE',
          'IDEMPOTENCY_KEY_IN_USE',
          'IDEMPOTENCY_KEY_MISMATCH',
          'PAYLOAD_TOO_LARGE',
          'UNSUPPORTED_MEDIA_TYPE',
          'RATE_LIMITED',
        ),
      },
    }),
    async (c) => {
      const user = await signUp(c.get('db'), c.req.valid('json'), c.get('passwordHash'));
      return c.json(ok(userView(user)), 201, { Location: `/api/users/${user.id}` });
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/users/availability',
      tags: ['users'],
      summary: 'Check whether a username or email is free (advice only)',
      description: 'Exactly one of `username` or `email`. 409 when taken. Signup itself decides.',
      middleware: [perClientAddress(deps, { name: 'availability', limit: config.rateLimitAvailabilityPerMinute, windowSeconds: 60 })] as const,
      request: { query: AvailabilityQuery },
      responses: {
        200: jsonResponse('The canonical value is free right now', success(AvailabilitySchema)),
        ...errorResponses('VALIDATION_FAILED', 'DUPLICATE_RESOURCE', 'RATE_LIMITED'),
      },
    }),
    async (c) => c.json(ok(await checkAvailability(db, c.req.valid('query'))), 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/users/me',
      tags: ['users'],
      summary: 'The signed-in user',
      security,
      middleware: [auth] as const,
      responses: { 200: jsonResponse('The caller', success(UserSchema)), ...errorResponses('UNAUTHENTICATED') },
    }),
    (c) => c.json(ok(userView(c.get('caller').user)), 200),
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/users/{id}',
      tags: ['users'],
      summary: 'A user (others see the public view)',
      security,
      middleware: [auth] as const,
      request: { params: IdParams },
      responses: {
        200: jsonResponse('The user', success(z.union([UserSchema, PublicUserSchema]))),
        ...errorResponses('UNAUTHENTICATED', 'NOT_FOUND_RESOURCE'),
      },
    }),
    async (c) => {
      const { user, self } = await getUser(db, c.get('caller'), c.req.valid('param').id);
      return c.json(ok(self ? userView(user) : publicUserView(user)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'patch',
      path: '/api/users/{id}',
      tags: ['users'],
      summary: 'Change your own account',
      description: 'A new `password` needs `currentPassword` and ends your other sessions.',
      security,
      middleware: [auth, body] as const,
      request: { params: IdParams, body: { required: true, content: { 'application/json': { schema: UserPatchBody } } } },
      responses: {
        200: jsonResponse('The changed user', success(UserSchema)),
        ...errorResponses(
          'INVALID_JSON',
          'VALIDATION_FAILED',
          'UNAUTHENTICATED',
          'FORBIDDEN',
          'NOT_FOUND_RESOURCE',
          'DUPLICATE_RESOURCE',
          'PAYLOAD_TOO_LARGE',
          'UNSUPPORTED_MEDIA_TYPE',
        ),
      },
    }),
    async (c) => {
      const user = await updateSelf(db, deps.sessions, c.get('caller'), c.req.valid('param').id, c.req.valid('json'));
      return c.json(ok(userView(user)), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/users/{id}',
      tags: ['users'],
      summary: 'Delete your own account, its sessions and projects',
      security,
      middleware: [auth] as const,
      request: { params: IdParams },
      responses: {
        204: { description: 'Deleted; the username and email are free again' },
        ...errorResponses('UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND_RESOURCE'),
      },
    }),
    async (c) => {
      await deleteSelf(db, deps.sessions, c.get('caller'), c.req.valid('param').id);
      clearSessionCookie(c, config);
      return c.body(null, 204);
    },
  );

  return app;
}
