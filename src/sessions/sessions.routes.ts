import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../http/app-deps.ts';
import { jsonBody } from '../http/json-body.ts';
import { errorResponses, jsonResponse, successBody, PUBLIC, SESSION_SECURITY, successSchema } from '../http/openapi.ts';
import { text, validationHook } from '../http/validation.ts';
import { UserSchema, userView } from '../users/users.schemas.ts';
import { perClientAddress } from '../rate-limits/rate-limit.ts';
import { requireAuth } from './auth.middleware.ts';
import { sameOriginLogin } from './csrf.ts';
import { clearSessionCookie, setSessionCookie } from './session-cookie.ts';
import { logIn, logOut } from './sessions.service.ts';

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

/** Routes under /api/sessions. */
export function sessionsRoutes(deps: AppDeps) {
  const { db, config } = deps;
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/sessions',
      tags: ['sessions'],
      operationId: 'createSession',
      summary: 'Log in with username or email',
      description:
        '`login` is a username or an email. Returns a bearer `token` and also sets it as the HttpOnly session cookie (`__Host-sid` when Secure, else `sid`). An unknown user and a wrong password give the same 401. Rate-limited per client address and, for failures, per login identifier (the canonical username or email as submitted).',
      security: PUBLIC,
      middleware: [
        sameOriginLogin(deps.requestOrigin),
        perClientAddress(deps, { name: 'login', limit: config.rateLimitLoginPerMinute, windowSeconds: 60 }),
        jsonBody(config.bodyLimitBytes, deps.readBody),
      ] as const,
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
    }),
    async (c) => {
      const { login, password } = c.req.valid('json');
      const session = await logIn(db, config, deps.callers, login, password);
      setSessionCookie(c, config, session.token);
      return c.json(successBody({ user: userView(session.user), token: session.token, expiresAt: session.expiresAt.toISOString() }), 201, {
        Location: '/api/sessions/current',
      });
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/sessions/current',
      tags: ['sessions'],
      operationId: 'deleteCurrentSession',
      summary: 'Log out: revoke this session and clear the cookie',
      description: 'Revokes the session that authenticated this request and clears the cookie; the token no longer works.',
      security: SESSION_SECURITY,
      middleware: [requireAuth(deps)] as const,
      responses: { 204: { description: 'Revoked' }, ...errorResponses('UNAUTHENTICATED', 'FORBIDDEN') },
    }),
    async (c) => {
      await logOut(db, deps.callers, c.get('caller').sessionHash);
      clearSessionCookie(c, config);
      return c.body(null, 204);
    },
  );

  return app;
}
