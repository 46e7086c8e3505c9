import { z } from '@hono/zod-openapi';
import { ERROR_CODES, ERRORS, REASON_PHRASES, type ErrorCode, type ErrorStatus } from '../errors/codes.ts';
import { FIELD_ISSUE_TEXTS, type FieldIssueCode } from '../errors/messages.ts';

const fieldIssueCodes = Object.keys(FIELD_ISSUE_TEXTS) as [FieldIssueCode, ...FieldIssueCode[]];

const FieldErrorSchema = z
  .object({
    field: z.string().openapi({ example: 'title' }),
    code: z.enum(fieldIssueCodes),
    message: z.string().openapi({ example: 'title 값이 필요합니다.' }),
  })
  .openapi('FieldError');

const ConflictSchema = z
  .object({
    id: z.uuid(),
    location: z.string().openapi({ example: '/api/projects/0b8f7c1e-2d4a-4c59-9d7e-2f1a3b4c5d6e' }),
  })
  .openapi('Conflict', { description: 'The live resource that holds the unique value.' });

const SuggestionsSchema = z
  .array(z.string())
  .max(3)
  .openapi({
    description:
      'On a username 409 only: up to three usernames derived from the requested one, canonical, valid, not ' +
      'reserved and free when checked. Advice: signup still decides.',
    example: ['alice2', 'alice_1', 'alice-dev'],
  });

const errorCode = z.enum(ERROR_CODES);

/** The failure envelope of docs/spec.md §3. */
export const ErrorSchema = z
  .object({
    status: z.literal('Failed'),
    code: errorCode,
    message: z.string().openapi({ example: '[Conflict] 동일한 이름의 프로젝트가 이미 존재합니다.' }),
    field: z.string().optional().openapi({ description: 'The offending field, parameter or header', example: 'title' }),
    errors: z.array(FieldErrorSchema).optional().openapi({ description: 'One entry per failing field' }),
    conflict: ConflictSchema.optional(),
    suggestions: SuggestionsSchema.optional(),
    requestId: z.string().openapi({ description: 'Also in the `X-Request-Id` header and the log line' }),
  })
  .openapi('Error', { description: 'The failure envelope, sent unless the client accepts `application/problem+json`.' });

/**
 * RFC 9457 problem details, sent when the client accepts `application/problem+json`. It carries the
 * envelope's members too (`message` included), so a client generated for both media types reads
 * `message`, `code`, `field` and `conflict` from either without telling them apart.
 */
export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: 'urn:projects-api:problem:DUPLICATE_RESOURCE' }),
    title: z.string().openapi({ example: 'Conflict' }),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string(),
    code: errorCode,
    message: z.string().openapi({ example: '[Conflict] 동일한 이름의 프로젝트가 이미 존재합니다.' }),
    field: z.string().optional(),
    errors: z.array(FieldErrorSchema).optional(),
    conflict: ConflictSchema.optional(),
    suggestions: SuggestionsSchema.optional(),
    requestId: z.string(),
  })
  .openapi('Problem', { description: 'RFC 9457 problem details, sent when the client accepts `application/problem+json`.' });

const errorContent = {
  'application/json': { schema: ErrorSchema },
  'application/problem+json': { schema: ProblemSchema },
};

/**
 * OpenAPI responses for the given error codes, grouped by status, each listing its codes. Every
 * operation may also get INVALID_JSON (on Lambda, an event body flagged base64 that does not
 * decode is refused before routing), INTERNAL_ERROR and SERVICE_UNAVAILABLE.
 */
export function errorResponses(...codes: ErrorCode[]) {
  const always: ErrorCode[] = ['INVALID_JSON', 'INTERNAL_ERROR', 'SERVICE_UNAVAILABLE'];
  const byStatus = new Map<ErrorStatus, ErrorCode[]>();
  for (const code of new Set([...codes, ...always])) {
    const { status } = ERRORS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return Object.fromEntries(
    [...byStatus].map(([status, list]) => [
      status,
      { description: `${REASON_PHRASES[status]}: ${list.join(', ')}`, content: errorContent },
    ]),
  ) as Record<ErrorStatus, { description: string; content: typeof errorContent }>;
}

/** The schema of the success envelope `{status:"Success", data}` around `data`'s schema. */
export function successSchema<T extends z.ZodType>(data: T) {
  return z.object({ status: z.literal('Success'), data });
}

/** A JSON response description for OpenAPI. */
export function jsonResponse<T extends z.ZodType>(description: string, schema: T) {
  return { description, content: { 'application/json': { schema } } };
}

/** A success response's body: `data` in the success envelope. */
export function successBody<T>(data: T): { status: 'Success'; data: T } {
  return { status: 'Success', data };
}

/** Path parameter `{id}`: a UUID; anything else names nothing and is a 404. */
export const IdParams = z.object({
  id: z.guid().openapi({
    param: { name: 'id', in: 'path', description: 'The UUID; anything else is a 404' },
    example: '0b8f7c1e-2d4a-4c59-9d7e-2f1a3b4c5d6e',
  }),
});

/**
 * Routes that need a session. The document names the Bearer scheme only: the session cookie also
 * authenticates, but a browser sends it by itself after login and a cookie scheme cannot name both
 * `sid` and `__Host-sid` (see the scheme's description in app.ts).
 */
export const SESSION_SECURITY: Record<string, string[]>[] = [{ bearer: [] }];

/** Routes anyone may call. */
export const PUBLIC: Record<string, string[]>[] = [];
