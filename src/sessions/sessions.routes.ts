import { createRoute, z } from '@hono/zod-openapi';
import type { AppDeps } from '../http/app-deps.ts';
import { jsonBody } from '../http/json-body.ts';
import { errorResponses, jsonResponse, successBody, PUBLIC, SESSION_SECURITY, successSchema } from '../http/openapi.ts';
import { createRouter } from '../http/router.ts';
import { text } from '../http/validation.ts';
import { UserSchema, userView } from '../users/users.schemas.ts';
import { perClientAddress } from '../rate-limits/rate-limit.ts';
import { requireAuth } from '../auth/auth.middleware.ts';
import { sameOriginLogin } from '../auth/csrf.ts';
import { clearSessionCookie, presentedToken, setSessionCookie } from '../auth/session-cookie.ts';
import { currentSession, revokeSession } from '../auth/auth.service.ts';
import { logIn } from './sessions.service.ts';
import { respondJson } from '../http/json-response.ts';

const LoginBody = z
  .object({
    login: text({ min: 1, max: 254 }).openapi({ description: 'Username or email', example: 'alice' }),
    password: text({ min: 1, max: 128 }).openapi({ example: 'correct horse battery' }),
  })
  .openapi('LoginRequest');

const SessionSchema = z
  .object({
    user: UserSchema,
    token: z
      .string()
      .openapi({ description: 'Opaque bearer token; also set as the HttpOnly session cookie (`__Host-sid` when Secure, else `sid`)' }),
    expiresAt: z.iso.datetime().openapi({ description: 'Absolute end of the session; idle sessions end sooner' }),
  })
  .openapi('Session');

const LOGIN = createRoute({
  method: 'post',
  path: '/api/sessions',
  tags: ['sessions'],
  operationId: 'createSession',
  summary: 'Log in with username or email',
  description:
    '`login` is a username or an email. Returns a bearer `token` and also sets it as the HttpOnly session cookie (`__Host-sid` when Secure, else `sid`). An unknown user and a wrong password give the same 401. Rate-limited per client address and, for failures, per login identifier (the canonical username or email as submitted).',
  security: PUBLIC,
  request: { body: { required: true, content: { 'application/json': { schema: LoginBody } } } },
  responses: {
    201: {
      ...jsonResponse('The new session', successSchema(SessionSchema)),
      headers: {
        'Set-Cookie': {
          schema: { type: 'string' },
          description: '__Host-sid=<token>; Secure; HttpOnly; SameSite=Lax; Path=/ (or sid=<token> without Secure over plain http)',
        },
      },
    },
    ...errorResponses(
      'INVALID_JSON',
      'VALIDATION_FAILED',
      'INVALID_CREDENTIALS',
      'FORBIDDEN',
      'PAYLOAD_TOO_LARGE',
      'UNSUPPORTED_MEDIA_TYPE',
      'RATE_LIMITED',
    ),
  },
});

const CurrentSessionSchema = z
  .object({
    user: UserSchema,
    expiresAt: z.iso.datetime().openapi({ description: 'Absolute end of the session; idle sessions end sooner' }),
  })
  .openapi('CurrentSession');

const CURRENT = createRoute({
  method: 'get',
  path: '/api/sessions/current',
  tags: ['sessions'],
  operationId: 'getCurrentSession',
  summary: 'Who is signed in, if anyone',
  description:
    'The session the request carries (Bearer token or cookie): 200 with its user and absolute end while it is live; ' +
    '204 when the request carries none, a malformed one, or one that ended (expired, idle, revoked). Never 401, so a ' +
    'page can ask on load without a failed request in its console. A caller an API Gateway authorizer vouches for has no session here: 204.',
  security: [...SESSION_SECURITY, {}],
  responses: {
    200: jsonResponse('The live session', successSchema(CurrentSessionSchema)),
    204: { description: 'No live session' },
    ...errorResponses(),
  },
});

const LOGOUT = createRoute({
  method: 'delete',
  path: '/api/sessions/current',
  tags: ['sessions'],
  operationId: 'deleteCurrentSession',
  summary: 'Log out: revoke this session and clear the cookie',
  description: 'Revokes the session that authenticated this request and clears the cookie; the token no longer works.',
  security: SESSION_SECURITY,
  responses: { 204: { description: 'Revoked' }, ...errorResponses('UNAUTHENTICATED', 'FORBIDDEN') },
});

/** Routes under /api/sessions. */
export function sessionsRoutes(deps: AppDeps) {
  const { config } = deps;
  const loginOrigin = sameOriginLogin(deps.requestOrigin);
  const loginLimit = perClientAddress(deps, { name: 'login', limit: config.rateLimitLoginPerMinute, windowSeconds: 60 });

  return createRouter()
    .openapi({ ...LOGIN, middleware: [loginOrigin, loginLimit, jsonBody(config.bodyLimitBytes, deps.readBody)] as const }, async (c) => {
      const { login, password } = c.req.valid('json');
      const session = await logIn(c.get('db'), config, deps.callers, login, password);
      setSessionCookie(c, config, session.token);
      return respondJson(
        c,
        successBody({ user: userView(session.user), token: session.token, expiresAt: session.expiresAt.toISOString() }),
        201,
        {
          Location: '/api/sessions/current',
        },
      );
    })
    .openapi(CURRENT, async (c) => {
      const session = await currentSession(c.get('db'), config, deps.callers, presentedToken(c).token);
      if (!session) return c.body(null, 204);
      return respondJson(c, successBody({ user: userView(session.user), expiresAt: session.expiresAt.toISOString() }), 200);
    })
    .openapi({ ...LOGOUT, middleware: [requireAuth(deps)] as const }, async (c) => {
      await revokeSession(c.get('db'), deps.callers, c.get('caller'));
      clearSessionCookie(c, config);
      return c.body(null, 204);
    });
}
