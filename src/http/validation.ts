import { z } from '@hono/zod-openapi';
import { longestMarkRun } from '../canonical.ts';
import { AppError, validationError, type FieldIssue } from '../errors/app-error.ts';
import { FIELD_ISSUE_TEXTS, type FieldIssueCode } from '../errors/messages.ts';

// PostgreSQL rejects NUL in text (22021) and JSON may carry unpaired surrogates that are not valid
// UTF-8; both must be a 400 before any query sees them.
// eslint-disable-next-line no-control-regex -- NUL is exactly what this looks for.
const FORBIDDEN_CHARACTERS = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** True when `s` holds no NUL and no unpaired surrogate. */
export function isStorableText(s: string): boolean {
  return !FORBIDDEN_CHARACTERS.test(s);
}

/** Length in Unicode code points, as JSON Schema's minLength/maxLength count it. */
export function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

const typeOrRequired = { error: (iss: { input: unknown }) => (iss.input === undefined ? 'required' : 'type') };

export interface TextOptions {
  min: number;
  max: number;
  /** Characters refused wherever they are in the value as received (field code `format`). */
  forbidden?: RegExp;
  /** Trim surrounding white space before measuring. */
  trim?: boolean;
  normalize?: 'NFC';
  /** Replaces trim and normalisation with this canonical form (usernames, emails). */
  canonical?: (raw: string) => string;
  /** More combining marks than this on one base (see `longestMarkRun`) is the field code `format`. */
  maxMarks?: number;
  /** The comparison key; a value whose key is empty has nothing visible in it (field code `required`). */
  key?: (value: string) => string;
  /** Checked after canonicalisation and length; a mismatch is the field code `format`. */
  pattern?: RegExp;
  /** Checked after the pattern; false is the field code `format`. */
  valid?: (value: string) => boolean;
  /** Canonical values that are refused (field code `reserved`). */
  reserved?: ReadonlySet<string>;
}

/**
 * A string field whose issues carry our field codes as messages: NUL / lone surrogates first,
 * forbidden characters, then the canonicalisation (trim, Unicode normalisation, lower-case), then
 * the length in code points, combining marks, visibility, pattern and validity.
 */
export function text(options: TextOptions) {
  let schema = z.string(typeOrRequired).refine(isStorableText, { message: 'invalid_characters', abort: true });
  const { forbidden, maxMarks, key, valid } = options;
  if (forbidden) schema = schema.refine((s) => !forbidden.test(s), { message: 'format', abort: true });
  if (options.trim) schema = schema.trim();
  if (options.normalize) schema = schema.normalize(options.normalize);
  if (options.canonical) schema = schema.overwrite(options.canonical);
  schema = schema
    .refine((s) => codePoints(s) >= options.min, { message: 'too_short', params: { min: options.min }, abort: true })
    .refine((s) => codePoints(s) <= options.max, { message: 'too_long', params: { max: options.max }, abort: true });
  if (maxMarks !== undefined) schema = schema.refine((s) => longestMarkRun(s) <= maxMarks, { message: 'format', abort: true });
  if (key) schema = schema.refine((s) => key(s) !== '', { message: 'required', abort: true });
  if (options.pattern) schema = schema.regex(options.pattern, { message: 'format', abort: true });
  if (valid) schema = schema.refine(valid, { message: 'format', abort: true });
  const { reserved } = options;
  if (reserved) schema = schema.refine((s) => !reserved.has(s), { message: 'reserved' });
  return schema.openapi({ minLength: options.min, maxLength: options.max });
}

function isFieldIssueCode(message: string): message is FieldIssueCode {
  return message in FIELD_ISSUE_TEXTS;
}

function fieldCode(issue: z.core.$ZodIssue): FieldIssueCode {
  if (isFieldIssueCode(issue.message)) return issue.message;
  switch (issue.code) {
    case 'invalid_type':
      return 'type';
    case 'too_small':
    case 'too_big':
      return 'out_of_range';
    case 'invalid_value':
      return 'invalid_value';
    default:
      return 'format';
  }
}

/** One FieldIssue per failing field (the first zod reports for it), in the order zod reports them. */
export function fieldIssues(error: z.ZodError): FieldIssue[] {
  const byField = new Map<string, FieldIssue>();
  for (const issue of error.issues) {
    const field = issue.path.map(String).join('.') || 'body';
    if (byField.has(field)) continue;
    const params = issue.code === 'custom' ? (issue.params as Record<string, number> | undefined) : undefined;
    byField.set(field, { field, code: fieldCode(issue), ...(params && { params }) });
  }
  return [...byField.values()];
}

/**
 * The zod-openapi hook for every route: a malformed path id is a 404 (it names nothing that could
 * exist); anything else that fails validation is a 400 VALIDATION_FAILED listing each field.
 */
export function validationHook(result: { success: true } | { success: false; error: z.ZodError; target: string }): void {
  if (result.success) return;
  if (result.target === 'param') throw new AppError('NOT_FOUND_RESOURCE');
  const [first, ...rest] = fieldIssues(result.error);
  throw first ? validationError([first, ...rest]) : new AppError('VALIDATION_FAILED');
}
