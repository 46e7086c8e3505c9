import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { Text } from './messages.ts';

/** What the API answers for one error code: its HTTP status and its default text in every locale. */
interface ErrorEntry {
  status: ContentfulStatusCode;
  text: Text;
}

/**
 * Every machine-readable error code the API can answer with (docs/spec.md §4), one entry each, in
 * the order the OpenAPI document lists them. Korean texts given by the seeds are verbatim (§7).
 */
export const ERRORS = {
  INVALID_JSON: { status: 400, text: { ko: '요청 본문이 올바른 JSON 객체가 아닙니다.', en: 'The request body must be a JSON object.' } },
  VALIDATION_FAILED: { status: 400, text: { ko: '요청 값이 올바르지 않습니다.', en: 'The request is invalid.' } },
  UNAUTHENTICATED: { status: 401, text: { ko: '로그인이 필요합니다.', en: 'Authentication is required.' } },
  INVALID_CREDENTIALS: {
    status: 401,
    text: { ko: '아이디 또는 비밀번호가 올바르지 않습니다.', en: 'The login or password is incorrect.' },
  },
  FORBIDDEN: { status: 403, text: { ko: '이 작업을 할 권한이 없습니다.', en: 'You are not allowed to do this.' } },
  NOT_FOUND_RESOURCE: { status: 404, text: { ko: '요청한 리소스를 찾을 수 없습니다.', en: 'The requested resource was not found.' } },
  METHOD_NOT_ALLOWED: { status: 405, text: { ko: '허용되지 않는 메서드입니다.', en: 'This method is not allowed on this resource.' } },
  DUPLICATE_RESOURCE: { status: 409, text: { ko: '이미 존재하는 값입니다', en: 'The value already exists' } },
  USERNAME_HELD: {
    status: 409,
    text: {
      ko: '최근까지 사용되던 아이디라서 아직 쓸 수 없습니다.',
      en: 'This username was in use recently and cannot be taken yet.',
    },
  },
  RESOURCE_STATE_CONFLICT: {
    status: 409,
    text: { ko: '요청 충돌이 발생했습니다.', en: 'The request conflicts with the current state of the resource.' },
  },
  IDEMPOTENCY_KEY_IN_USE: {
    status: 409,
    text: {
      ko: '같은 Idempotency-Key의 요청이 아직 처리 중입니다.',
      en: 'A request with the same Idempotency-Key is still being processed.',
    },
  },
  PRECONDITION_FAILED: {
    status: 412,
    text: {
      ko: '리소스가 변경되었습니다. 최신 버전을 다시 조회하세요.',
      en: 'The resource has changed; fetch the current version and retry.',
    },
  },
  PAYLOAD_TOO_LARGE: { status: 413, text: { ko: '요청 본문이 너무 큽니다.', en: 'The request body is too large.' } },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    text: { ko: 'Content-Type은 application/json이어야 합니다.', en: 'Content-Type must be application/json.' },
  },
  IDEMPOTENCY_KEY_MISMATCH: {
    status: 422,
    text: {
      ko: '같은 Idempotency-Key가 다른 요청에 사용되었습니다.',
      en: 'The Idempotency-Key was already used for a different request.',
    },
  },
  RATE_LIMITED: { status: 429, text: { ko: '요청이 너무 많습니다. 잠시 후 다시 시도하세요.', en: 'Too many requests; retry later.' } },
  INTERNAL_ERROR: { status: 500, text: { ko: '서버 내부 오류가 발생했습니다.', en: 'Internal server error' } },
  SERVICE_UNAVAILABLE: {
    status: 503,
    text: {
      ko: '일시적으로 서비스를 이용할 수 없습니다. 잠시 후 다시 시도하세요.',
      en: 'The service is temporarily unavailable; retry later.',
    },
  },
} as const satisfies Record<string, ErrorEntry>;

export type ErrorCode = keyof typeof ERRORS;

export const ERROR_CODES = Object.keys(ERRORS) as [ErrorCode, ...ErrorCode[]];

export type ErrorStatus = (typeof ERRORS)[ErrorCode]['status'];

/** Reason phrases used in the `[Reason-Phrase]` message prefix and the problem+json `title`. */
export const REASON_PHRASES = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
} as const satisfies Record<ErrorStatus, string>;
