import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { AppDeps, AppEnv } from '../http/app-deps.ts';
import { jsonBody } from '../http/json-body.ts';
import { errorResponses, IdParams, jsonResponse, successBody, PUBLIC, SESSION_SECURITY, successSchema } from '../http/openapi.ts';
import { createRouter } from '../http/router.ts';
import { idempotency, IdempotencyKeyHeader } from '../idempotency/idempotency.middleware.ts';
import { perClientAddress } from '../rate-limits/rate-limit.ts';
import { requireAuth } from '../auth/auth.middleware.ts';
import { clearSessionCookie } from '../auth/session-cookie.ts';
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
import { respondJson } from '../http/json-response.ts';

/** The app's environment plus what only signup carries between its middleware and its handler. */
type UsersEnv = AppEnv & {
  Variables: {
    /** Signup's password hash, computed before a keyed signup's transaction opens. */
    passwordHash?: string;
  };
};

/**
 * Hashes a keyed signup's password before its transaction opens, so that no connection waits on
 * argon2; a body that will fail validation is left to the validator.
 */
async function hashSignupPassword(c: Context<UsersEnv>): Promise<void> {
  const parsed = SignupBody.safeParse(await c.req.json().catch(() => undefined));
  if (parsed.success) c.set('passwordHash', await hashPassword(parsed.data.password));
}

const SIGNUP = createRoute({
  method: 'post',
  path: '/api/users',
  tags: ['users'],
  operationId: 'createUser',
  summary: 'Sign up',
  description:
    "Creates a user and mails a verification link to the email. The username and email are stored canonical (trimmed, NFKC, lower-cased) and the database's unique indexes decide a duplicate: 409 `DUPLICATE_RESOURCE` with `field` `username` or `email` (both taken: `username`, and both in `errors`). An email held by an account that has not verified it within `EMAIL_CLAIM_HOURS` is taken from that account. A username released within `USERNAME_HOLD_DAYS` is a 409 `USERNAME_HELD`. Accepts `Idempotency-Key`. Rate-limited per client address.",
  security: PUBLIC,
  request: { headers: IdempotencyKeyHeader, body: { required: true, content: { 'application/json': { schema: SignupBody } } } },
  responses: {
    201: {
      ...jsonResponse('The new user', successSchema(UserSchema)),
      headers: { Location: { schema: { type: 'string' }, description: 'URL of the new user' } },
    },
    ...errorResponses(
      'INVALID_JSON',
      'VALIDATION_FAILED',
      'DUPLICATE_RESOURCE',
      'USERNAME_HELD',
      'IDEMPOTENCY_KEY_IN_USE',
      'IDEMPOTENCY_KEY_MISMATCH',
      'PAYLOAD_TOO_LARGE',
      'UNSUPPORTED_MEDIA_TYPE',
      'RATE_LIMITED',
    ),
  },
});

const AVAILABILITY = createRoute({
  method: 'get',
  path: '/api/users/availability',
  tags: ['users'],
  operationId: 'checkAvailability',
  summary: 'Check whether a username or email is free (advice only)',
  description:
    'Pass exactly one of `username` or `email`. 200 with the canonical value when it is free right now, 409 `DUPLICATE_RESOURCE` naming the `field` when taken (an email whose unverified claim has run out is free), 409 `USERNAME_HELD` for a username released recently, 400 when malformed or reserved. Advice only: signup itself decides. Rate-limited per client address.',
  security: PUBLIC,
  request: { query: AvailabilityQuery },
  responses: {
    200: jsonResponse('The canonical value is free right now', successSchema(AvailabilitySchema)),
    ...errorResponses('VALIDATION_FAILED', 'DUPLICATE_RESOURCE', 'USERNAME_HELD', 'RATE_LIMITED'),
  },
});

const ME = createRoute({
  method: 'get',
  path: '/api/users/me',
  tags: ['users'],
  operationId: 'getCurrentUser',
  summary: 'The signed-in user',
  description: "The caller's own record, email included.",
  security: SESSION_SECURITY,
  responses: { 200: jsonResponse('The caller', successSchema(UserSchema)), ...errorResponses('UNAUTHENTICATED') },
});

const GET = createRoute({
  method: 'get',
  path: '/api/users/{id}',
  tags: ['users'],
  operationId: 'getUser',
  summary: 'A user (others see the public view)',
  description:
    "The caller sees their full record; anyone else's is the public view (`id`, `username`, `nickname`, `createdAt`). 404 when there is no such user.",
  security: SESSION_SECURITY,
  request: { params: IdParams },
  responses: {
    200: jsonResponse('The user', successSchema(z.union([UserSchema, PublicUserSchema]))),
    ...errorResponses('UNAUTHENTICATED', 'NOT_FOUND_RESOURCE'),
  },
});

const UPDATE = createRoute({
  method: 'patch',
  path: '/api/users/{id}',
  tags: ['users'],
  operationId: 'updateUser',
  summary: 'Change your own account',
  description:
    'Only your own account (403 otherwise). A taken username or email is a 409 naming the `field`; a username released recently by someone else is a 409 `USERNAME_HELD`, and your own old username stays yours to take back while it is held. A new `email` becomes `pendingEmail` and gets a verification link; it replaces `email` once verified. A new `password` needs `currentPassword` and ends your other sessions. An empty body is a 400 (`empty_patch`).',
  security: SESSION_SECURITY,
  request: { params: IdParams, body: { required: true, content: { 'application/json': { schema: UserPatchBody } } } },
  responses: {
    200: jsonResponse('The changed user', successSchema(UserSchema)),
    ...errorResponses(
      'INVALID_JSON',
      'VALIDATION_FAILED',
      'UNAUTHENTICATED',
      'FORBIDDEN',
      'NOT_FOUND_RESOURCE',
      'DUPLICATE_RESOURCE',
      'USERNAME_HELD',
      'PAYLOAD_TOO_LARGE',
      'UNSUPPORTED_MEDIA_TYPE',
    ),
  },
});

const DELETE = createRoute({
  method: 'delete',
  path: '/api/users/{id}',
  tags: ['users'],
  operationId: 'deleteUser',
  summary: 'Delete your own account, its sessions and projects',
  description:
    'Only your own account (403 otherwise). Removes the user, their sessions and projects; the email is free again, the username is held for `USERNAME_HOLD_DAYS`, and the session cookie is cleared.',
  security: SESSION_SECURITY,
  request: { params: IdParams },
  responses: {
    204: { description: 'Deleted; the email is free again and the username held' },
    ...errorResponses('UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND_RESOURCE'),
  },
});

/** Routes under /api/users. */
export function usersRoutes(deps: AppDeps) {
  const { config } = deps;
  const auth = requireAuth(deps);
  const jsonGate = jsonBody(config.bodyLimitBytes, deps.readBody);
  const signupLimit = perClientAddress(deps, { name: 'signup', limit: config.rateLimitSignupPerMinute, windowSeconds: 60 });
  const availabilityLimit = perClientAddress(deps, {
    name: 'availability',
    limit: config.rateLimitAvailabilityPerMinute,
    windowSeconds: 60,
  });

  return createRouter<UsersEnv>()
    .openapi({ ...SIGNUP, middleware: [signupLimit, jsonGate, idempotency(deps, { prepare: hashSignupPassword })] as const }, async (c) => {
      const context = { config, locale: c.get('locale'), mail: c.get('mail') };
      const user = await signUp(c.get('db'), c.req.valid('json'), context, c.get('passwordHash'));
      return respondJson(c, successBody(userView(user)), 201, { Location: `/api/users/${user.id}` });
    })
    .openapi({ ...AVAILABILITY, middleware: [availabilityLimit] as const }, async (c) =>
      respondJson(c, successBody(await checkAvailability(c.get('db'), c.req.valid('query'), config.emailClaimHours)), 200),
    )
    .openapi({ ...ME, middleware: [auth] as const }, (c) => respondJson(c, successBody(userView(c.get('caller').user)), 200))
    .openapi({ ...GET, middleware: [auth] as const }, async (c) => {
      const { user, self } = await getUser(c.get('db'), c.get('caller'), c.req.valid('param').id);
      return respondJson(c, successBody(self ? userView(user) : publicUserView(user)), 200);
    })
    .openapi({ ...UPDATE, middleware: [auth, jsonGate] as const }, async (c) => {
      const user = await updateSelf(c.get('db'), deps.callers, c.get('caller'), c.req.valid('param').id, c.req.valid('json'), {
        config,
        mail: c.get('mail'),
      });
      return respondJson(c, successBody(userView(user)), 200);
    })
    .openapi({ ...DELETE, middleware: [auth] as const }, async (c) => {
      await deleteSelf(c.get('db'), deps.callers, c.get('caller'), c.req.valid('param').id, config.usernameHoldDays);
      clearSessionCookie(c, config);
      return c.body(null, 204);
    });
}
