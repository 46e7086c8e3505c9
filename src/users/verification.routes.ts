import { createRoute, z } from '@hono/zod-openapi';
import type { AppDeps } from '../http/app-deps.ts';
import { jsonBody } from '../http/json-body.ts';
import { respondJson } from '../http/json-response.ts';
import { errorResponses, jsonResponse, PUBLIC, SESSION_SECURITY, successBody, successSchema } from '../http/openapi.ts';
import { createRouter } from '../http/router.ts';
import { text } from '../http/validation.ts';
import { requireAuth } from '../auth/auth.middleware.ts';
import { perClientAddress } from '../rate-limits/rate-limit.ts';
import { Password, UserSchema, userView } from './users.schemas.ts';
import { passwordResetJob, resendVerification, resetPassword, RESET_LINK_MINUTES, verifyEmail } from './verification.service.ts';

const TokenParams = z.object({
  token: z.string().openapi({ param: { name: 'token', in: 'path' }, description: 'The `token` query parameter of the mailed link' }),
});

const VERIFY = createRoute({
  method: 'post',
  path: '/api/email-verifications/{token}',
  tags: ['users'],
  operationId: 'verifyEmail',
  summary: 'Follow a verification link',
  description:
    'The address the link was mailed to becomes the account’s verified `email` (a pending address replaces the old one, decided by the email index: 409 when another account’s claim on it still counts). Following the same link again answers the same. An unknown, expired, used-up or superseded link is a 400 on `token`. Links work for `EMAIL_CLAIM_HOURS`.',
  security: PUBLIC,
  request: { params: TokenParams },
  responses: {
    200: jsonResponse('The account, its email verified', successSchema(UserSchema)),
    ...errorResponses('VALIDATION_FAILED', 'DUPLICATE_RESOURCE', 'RATE_LIMITED'),
  },
});

const EmailSentSchema = z.object({ email: z.string() }).openapi('VerificationSent');

const RESEND = createRoute({
  method: 'post',
  path: '/api/users/me/email-verifications',
  tags: ['users'],
  operationId: 'resendVerification',
  summary: 'Mail another verification link',
  description:
    'To the pending email, or else to the unverified one. 409 `RESOURCE_STATE_CONFLICT` when there is nothing to verify; 429 past `RATE_LIMIT_MAIL_PER_HOUR` mails to the account.',
  security: SESSION_SECURITY,
  responses: {
    202: jsonResponse('The link is on its way to `email`', successSchema(EmailSentSchema)),
    ...errorResponses('UNAUTHENTICATED', 'FORBIDDEN', 'RESOURCE_STATE_CONFLICT', 'RATE_LIMITED'),
  },
});

const ResetRequestBody = z
  .object({ login: text({ min: 1, max: 254 }).openapi({ description: 'Username or email', example: 'alice' }) })
  .openapi('PasswordResetRequest');

const ResetAcceptedSchema = z.object({ accepted: z.literal(true) }).openapi('PasswordResetAccepted');

const REQUEST_RESET = createRoute({
  method: 'post',
  path: '/api/password-resets',
  tags: ['users'],
  operationId: 'requestPasswordReset',
  summary: 'Mail a password-reset link',
  description: `Always 202 with the same body, whether or not \`login\` names an account: the account's email gets a link that works once, for ${RESET_LINK_MINUTES} minutes, prepared and sent after the answer. At most \`RATE_LIMIT_MAIL_PER_HOUR\` mails per account (past it none is sent, and the answer is the same); rate-limited per client address.`,
  security: PUBLIC,
  request: { body: { required: true, content: { 'application/json': { schema: ResetRequestBody } } } },
  responses: {
    202: jsonResponse('Accepted; a link is mailed if the account exists', successSchema(ResetAcceptedSchema)),
    ...errorResponses('INVALID_JSON', 'VALIDATION_FAILED', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'RATE_LIMITED'),
  },
});

const ResetBody = z.object({ password: Password }).openapi('PasswordReset');

const RESET = createRoute({
  method: 'post',
  path: '/api/password-resets/{token}',
  tags: ['users'],
  operationId: 'resetPassword',
  summary: 'Set a new password from a reset link',
  description:
    'Sets the password, ends every session of the account, ends its other reset links, and verifies the email the link was sent to. An unknown, expired or used link is a 400 on `token`. Rate-limited per client address.',
  security: PUBLIC,
  request: { params: TokenParams, body: { required: true, content: { 'application/json': { schema: ResetBody } } } },
  responses: {
    204: { description: 'The password is set; every session of the account has ended' },
    ...errorResponses('INVALID_JSON', 'VALIDATION_FAILED', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE', 'RATE_LIMITED'),
  },
});

/** Email verification and password reset: the routes a mailed link leads to. */
export function verificationRoutes(deps: AppDeps) {
  const { config } = deps;
  const auth = requireAuth(deps);
  const jsonGate = jsonBody(config.bodyLimitBytes, deps.readBody);
  const resetLimit = perClientAddress(deps, { name: 'password_reset', limit: config.rateLimitPasswordResetPerMinute, windowSeconds: 60 });

  return createRouter()
    .openapi({ ...VERIFY, middleware: [resetLimit] as const }, async (c) => {
      const user = await verifyEmail(c.get('db'), deps.callers, config, c.req.valid('param').token);
      return respondJson(c, successBody(userView(user)), 200);
    })
    .openapi({ ...RESEND, middleware: [auth] as const }, async (c) =>
      respondJson(c, successBody(await resendVerification(c.get('db'), config, c.get('caller'), c.get('mail'))), 202),
    )
    .openapi({ ...REQUEST_RESET, middleware: [resetLimit, jsonGate] as const }, (c) => {
      c.get('mail').push(passwordResetJob(c.get('db'), config, c.req.valid('json').login));
      return respondJson(c, successBody({ accepted: true as const }), 202);
    })
    .openapi({ ...RESET, middleware: [resetLimit, jsonGate] as const }, async (c) => {
      await resetPassword(c.get('db'), deps.callers, c.req.valid('param').token, c.req.valid('json').password);
      return c.body(null, 204);
    });
}
