import { z } from '@hono/zod-openapi';
import { ERROR_CODES, ERROR_STATUS, REASON_PHRASES, type ErrorCode, type ErrorStatus } from '../errors/codes.ts';
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

const SuggestionsSchema = z.array(z.string()).max(3).openapi({
  description:
    'On a username 409 only: up to three usernames derived from the requested one, canonical, valid, not ' +
    'reserved and free when checked. Advice: signup still decides.',
  example: ['alice2', 'alice_1', 'alice-dev'],
});

const errorCode = z.enum(ERROR_CODES);

/** The failure envelope of SPEC §3. */
export const ErrorSchema = z
  .object({
    status: z.literal('Failed'),
    code: errorCode,
    message: z.string().openapi({ example: '[Conflict] 동일한 이름의 프로젝트가 이미 존재합니다.' }),
    field: z.string().optional(),
    errors: z.array(FieldErrorSchema).optional(),
    conflict: ConflictSchema.optional(),
    suggestions: SuggestionsSchema.optional(),
    requestId: z.string(),
  })
  .openapi('Error');

/** RFC 9457 problem details, sent when the client accepts `application/problem+json`. */
export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: 'urn:projects-api:problem:DUPLICATE_RESOURCE' }),
    title: z.string().openapi({ example: 'Conflict' }),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string(),
    code: errorCode,
    field: z.string().optional(),
    errors: z.array(FieldErrorSchema).optional(),
    conflict: ConflictSchema.optional(),
    suggestions: SuggestionsSchema.optional(),
    requestId: z.string(),
  })
  .openapi('Problem');

const errorContent = {
  'application/json': { schema: ErrorSchema },
  'application/problem+json': { schema: ProblemSchema },
};

/** OpenAPI responses for the given error codes, grouped by status, each listing its codes. */
export function errorResponses(...codes: ErrorCode[]) {
  const always: ErrorCode[] = ['INTERNAL_ERROR', 'SERVICE_UNAVAILABLE'];
  const byStatus = new Map<ErrorStatus, ErrorCode[]>();
  for (const code of [...codes, ...always]) {
    const status = ERROR_STATUS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  return Object.fromEntries(
    [...byStatus].map(([status, list]) => [
      status,
      { description: `${REASON_PHRASES[status]}: ${list.join(', ')}`, content: errorContent },
    ]),
  ) as Record<ErrorStatus, { description: string; content: typeof errorContent }>;
}

/** The success envelope `{status:"Success", data}` around `data`. */
export function success<T extends z.ZodType>(data: T) {
  return z.object({ status: z.literal('Success'), data });
}

/** A JSON response description for OpenAPI. */
export function jsonResponse<T extends z.ZodType>(description: string, schema: T) {
  return { description, content: { 'application/json': { schema } } };
}

/** Wraps `data` in the success envelope. */
export function ok<T>(data: T): { status: 'Success'; data: T } {
  return { status: 'Success', data };
}

/** Path parameter `{id}`: a UUID; anything else names nothing and is a 404. */
export const IdParams = z.object({
  id: z.guid().openapi({ param: { name: 'id', in: 'path' }, example: '0b8f7c1e-2d4a-4c59-9d7e-2f1a3b4c5d6e' }),
});

/** Routes that need a session accept either a Bearer token or the `sid` cookie. */
export const SESSION_SECURITY: Record<string, string[]>[] = [{ bearer: [] }, { cookie: [] }];
