import type { LambdaEvent } from 'hono/aws-lambda';

/** The parts of an API Gateway (REST 1.0, HTTP 2.0) or ALB event this module reads. */
interface EventParts {
  rawPath?: string;
  path?: string;
  body?: string | null;
  isBase64Encoded?: boolean;
  headers?: Record<string, string | undefined> | null;
  multiValueHeaders?: Record<string, string[] | undefined> | null;
  requestContext?: {
    elb?: unknown;
    http?: unknown;
    stage?: string;
    authorizer?: { claims?: unknown; jwt?: { claims?: unknown } | null } | null;
  };
}

// Standard alphabet with padding, as API Gateway and ALB encode bodies. `atob` alone would accept
// "Hello from Lambda" (it skips spaces), which no gateway ever sends as base64.
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The scheme the client used: API Gateway serves https only; an ALB listener may be http, and the
 * ALB writes which into `X-Forwarded-Proto` itself.
 */
export function connectionScheme(event: LambdaEvent): 'http' | 'https' {
  const { requestContext, headers, multiValueHeaders } = event as EventParts;
  if (requestContext?.elb === undefined) return 'https';
  const proto = headers?.['x-forwarded-proto'] ?? multiValueHeaders?.['x-forwarded-proto']?.at(-1);
  return proto?.toLowerCase() === 'http' ? 'http' : 'https';
}

/**
 * The path Hono's adapter builds the request URL from, before that URL resolves its dot-segments:
 * an HTTP API (2.0) event's `rawPath`, a REST (1.0) or ALB event's `path`. The adapter tells them
 * apart the same way.
 */
export function requestPath(event: LambdaEvent): string | undefined {
  const { rawPath, path, requestContext } = event as EventParts;
  const isHttpApi = requestContext?.elb === undefined && rawPath !== undefined && requestContext?.http !== undefined;
  return isHttpApi ? rawPath : path;
}

/** True when the event says its body is base64 but the body is not. */
export function hasUndecodableBody(event: LambdaEvent): boolean {
  const { body, isBase64Encoded } = event as EventParts;
  return isBase64Encoded === true && typeof body === 'string' && !BASE64.test(body);
}

/**
 * The event as the app should route it. An HTTP API (2.0) on a named stage puts the stage in
 * `rawPath` (`/default/api/users`); the `$default` stage does not, and REST events carry the
 * path without the stage already. The event is copied, never changed.
 */
export function withoutStagePrefix<E extends LambdaEvent>(event: E): E {
  const { rawPath, requestContext } = event as EventParts;
  const stage = requestContext?.stage;
  if (rawPath === undefined || stage === undefined || stage === '$default') return event;
  const prefix = `/${stage}`;
  if (rawPath !== prefix && !rawPath.startsWith(`${prefix}/`)) return event;
  return { ...event, rawPath: rawPath.slice(prefix.length) || '/' };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The claims an API Gateway authorizer put in the event: a REST API's Cognito authorizer
 * (`requestContext.authorizer.claims`) or an HTTP API's JWT authorizer
 * (`requestContext.authorizer.jwt.claims`). Undefined for ALB and for requests no authorizer saw.
 */
export function authorizerClaims(event: LambdaEvent): Record<string, unknown> | undefined {
  const authorizer = (event as EventParts).requestContext?.authorizer;
  const claims = authorizer?.jwt?.claims ?? authorizer?.claims;
  return isRecord(claims) ? claims : undefined;
}

/** The EventBridge event the `Schedule` of template.yaml sends; its other fields are not read. */
export interface ScheduledEvent {
  source: 'aws.events';
  'detail-type': 'Scheduled Event';
}

/** Whether the function was invoked by a schedule rather than by an HTTP request. */
export function isScheduledEvent(event: unknown): event is ScheduledEvent {
  return isRecord(event) && event.source === 'aws.events' && event['detail-type'] === 'Scheduled Event';
}
