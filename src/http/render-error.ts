import type { Context } from 'hono';
import type { AppEnv } from './app-deps.ts';
import type { AppError } from '../errors/app-error.ts';
import { ERRORS, REASON_PHRASES } from '../errors/codes.ts';
import { FIELD_ISSUE_TEXTS, SPECIFIC_TEXTS, fill, type Locale } from '../errors/messages.ts';
import type { FieldIssue } from '../errors/app-error.ts';
import { respondJson } from './json-response.ts';

function issueText(issue: FieldIssue, locale: Locale): string {
  return fill(FIELD_ISSUE_TEXTS[issue.code][locale], { field: issue.field, ...issue.params });
}

function wantsProblem(c: Context): boolean {
  return (c.req.header('accept') ?? '').toLowerCase().includes('application/problem+json');
}

/**
 * Renders an AppError as the failure envelope of docs/spec.md §3, or as RFC 9457 problem details when the
 * client asks for `application/problem+json`. The message is `[Reason-Phrase] <localized text>`.
 */
export function renderError(c: Context<AppEnv>, err: AppError): Response {
  c.set('failure', err);
  const locale = c.get('locale') ?? 'ko';
  const requestId = c.get('requestId');
  const { status, text: codeText } = ERRORS[err.code];
  const reason = REASON_PHRASES[status];
  const { text, errors, conflict, suggestions } = err.detail;
  const firstIssue = errors?.[0];
  const localized = text ? SPECIFIC_TEXTS[text][locale] : firstIssue ? issueText(firstIssue, locale) : codeText[locale];
  const renderedErrors = errors?.map((issue) => ({ field: issue.field, code: issue.code, message: issueText(issue, locale) }));
  const field = err.detail.field ?? firstIssue?.field;
  const message = `[${reason}] ${localized}`;
  for (const [name, value] of Object.entries(err.detail.headers ?? {})) c.header(name, value);

  // What the envelope and problem details both carry, in the envelope's order.
  const members = {
    code: err.code,
    message,
    ...(field !== undefined && { field }),
    ...(renderedErrors && { errors: renderedErrors }),
    ...(conflict && { conflict }),
    ...(suggestions && { suggestions }),
    requestId,
  };
  if (wantsProblem(c)) {
    const problem = {
      type: `urn:projects-api:problem:${err.code}`,
      title: reason,
      status,
      detail: localized,
      instance: c.req.path,
      ...members,
    };
    return respondJson(c, problem, status, undefined, 'application/problem+json; charset=UTF-8');
  }
  return respondJson(c, { status: 'Failed' as const, ...members }, status);
}
