import type { ErrorCode } from './codes.ts';
import type { FieldIssueCode, SpecificTextKey } from './messages.ts';

/** One failing field of a request; rendered as `errors[]` entries. */
export interface FieldIssue {
  field: string;
  code: FieldIssueCode;
  params?: Record<string, string | number>;
}

/** The live resource a 409 collides with. */
export interface Conflict {
  id: string;
  location: string;
}

export interface AppErrorDetail {
  /** A text more specific than the code's default. */
  text?: SpecificTextKey;
  field?: string;
  /** Validation failures: one entry per failing field; the first one becomes `field` and `message`. */
  errors?: FieldIssue[];
  conflict?: Conflict;
  /** Free alternatives to a taken username (advice only). */
  suggestions?: string[];
  headers?: Record<string, string>;
  /** Which rate limit refused the request (a 429), for the metrics; never rendered. */
  limit?: string;
  /** The failure behind the error (a 503's driver error), for the metrics; never rendered. */
  cause?: unknown;
}

/** An expected failure with a stable code; anything else thrown becomes INTERNAL_ERROR. */
export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly detail: AppErrorDetail = {},
  ) {
    super(code);
    this.name = 'AppError';
  }
}

/** A VALIDATION_FAILED error for the given field issues (at least one). */
export function validationError(issues: [FieldIssue, ...FieldIssue[]]): AppError {
  return new AppError('VALIDATION_FAILED', { field: issues[0].field, errors: issues });
}
