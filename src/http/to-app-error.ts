import { HTTPException } from 'hono/http-exception';
import { isDataException, isDatabaseUnavailable } from '../db/driver-errors.ts';
import { foreignKeyViolation } from './foreign-keys.ts';
import { uniqueConflict } from '../db/unique-indexes.ts';
import { AppError } from '../errors/app-error.ts';
import type { ErrorCode } from '../errors/codes.ts';

// Hono's own failures (its JSON parser, body limit and media-type gate), in our codes.
const HTTP_EXCEPTION_CODES: Partial<Record<number, ErrorCode>> = {
  400: 'INVALID_JSON',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
};

/** Seconds a client should wait before retrying after a 503. */
export const RETRY_AFTER_SECONDS = 2;

/**
 * Classifies anything thrown while serving a request. Returns the AppError to render and whether it
 * is a fault of ours (to log as an error with its stack).
 */
export function toAppError(err: unknown): { error: AppError; fault: boolean } {
  if (err instanceof AppError) return { error: err, fault: false };
  if (err instanceof HTTPException) {
    const code = HTTP_EXCEPTION_CODES[err.status];
    return code ? { error: new AppError(code), fault: false } : { error: new AppError('INTERNAL_ERROR'), fault: true };
  }
  if (isDatabaseUnavailable(err)) {
    return {
      error: new AppError('SERVICE_UNAVAILABLE', { headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) }, cause: err }),
      fault: true,
    };
  }
  const gone = foreignKeyViolation(err);
  if (gone) return { error: new AppError(gone), fault: false };
  // A unique index no service maps: still a conflict the database decided, never a 500.
  if (uniqueConflict(err) !== undefined) return { error: new AppError('DUPLICATE_RESOURCE'), fault: true };
  if (isDataException(err)) return { error: new AppError('VALIDATION_FAILED'), fault: true };
  return { error: new AppError('INTERNAL_ERROR'), fault: true };
}
