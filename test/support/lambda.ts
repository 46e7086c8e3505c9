import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import { LIMITS_OFF } from '../../src/config.ts';
import { LambdaContainer } from './lambda-container.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const FIXTURES = join(ROOT, 'test/fixtures/lambda-events');

/** The function as template.yaml declares it. */
export interface TemplateFunction {
  codeUri: string;
  handler: string;
  runtime: string;
}

/** Reads the one AWS::Serverless::Function of template.yaml (its indentation is the structure). */
export function templateFunction(): TemplateFunction {
  const template = readFileSync(join(ROOT, 'template.yaml'), 'utf8');
  const [, body = ''] = /Type: AWS::Serverless::Function\n((?: {4}.*\n)+)/.exec(template) ?? [];
  const property = (name: string) => {
    const value = new RegExp(`^ {6}${name}: (\\S+)$`, 'm').exec(body)?.[1];
    if (value === undefined) throw new Error(`template.yaml: the function has no ${name}`);
    return value;
  };
  return { codeUri: property('CodeUri'), handler: property('Handler'), runtime: property('Runtime') };
}

/** The built artifact, copied out of the repository: `root/function` is CodeUri's content. */
export interface LambdaArtifact {
  root: string;
  dir: string;
  handler: string;
}

/** Runs `npm run build`'s script and copies the template's CodeUri to a fresh temporary folder. */
export function buildLambdaArtifact(): LambdaArtifact {
  execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs')], { stdio: 'inherit' });
  const fn = templateFunction();
  const root = mkdtempSync(join(tmpdir(), 'projects-api-lambda-'));
  const dir = join(root, 'function');
  cpSync(join(ROOT, fn.codeUri), dir, { recursive: true });
  return { root, dir, handler: fn.handler };
}

/** A fixture event from test/fixtures/lambda-events, without the BOM some of them start with. */
export function fixture(name: string): any {
  return JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), 'utf8').replace(/^\uFEFF/, ''));
}

export interface EventChange {
  method: string;
  /** Path and query, as the client sent them (a stage prefix included, if the test wants one). */
  path: string;
  headers?: Record<string, string>;
  /** Request cookies (`name=value`); HTTP API events carry them in their own field. */
  cookies?: string[];
  json?: unknown;
  /** A body sent as it is. */
  body?: string;
  /** Send the body base64-encoded, flagged as such. */
  base64?: boolean;
}

/** `headers` with `name` set to `value`, replacing any spelling of that name. */
function withHeader<T>(headers: Record<string, T>, name: string, value: T): Record<string, T> {
  return { ...Object.fromEntries(Object.entries(headers).filter(([key]) => key.toLowerCase() !== name)), [name]: value };
}

/**
 * A fixture event changed only in method, path, headers, cookies and body, in the event's own
 * shape: REST (1.0), HTTP API (2.0) or ALB, single- or multi-value.
 */
export function lambdaEvent(name: string, change: EventChange): any {
  const event = fixture(name);
  // Split as text: a URL would resolve the dot-segments a test may send on purpose.
  const queryAt = change.path.indexOf('?');
  const pathname = queryAt < 0 ? change.path : change.path.slice(0, queryAt);
  const search = queryAt < 0 ? '' : change.path.slice(queryAt);
  const headers: Record<string, string> = { ...change.headers };
  let body = change.body;
  if (change.json !== undefined) {
    body = JSON.stringify(change.json);
    headers['content-type'] ??= 'application/json';
  }
  const isV2 = 'rawPath' in event;
  if (change.cookies && !isV2) headers.cookie = change.cookies.join('; ');
  if (isV2) {
    event.rawPath = pathname;
    event.rawQueryString = search.slice(1);
    event.requestContext.http.method = change.method;
    event.requestContext.http.path = pathname;
    if (change.cookies) event.cookies = change.cookies;
  } else {
    event.httpMethod = change.method;
    event.path = pathname;
    if (event.requestContext?.httpMethod) event.requestContext.httpMethod = change.method;
    const query = [...new URLSearchParams(search)];
    event.queryStringParameters = query.length > 0 ? Object.fromEntries(query) : null;
    if ('multiValueQueryStringParameters' in event) {
      event.multiValueQueryStringParameters = query.length > 0 ? Object.fromEntries(query.map(([k, v]) => [k, [v]])) : null;
    }
  }
  for (const [key, value] of Object.entries(headers)) {
    const name = key.toLowerCase();
    if (event.multiValueHeaders) event.multiValueHeaders = withHeader(event.multiValueHeaders, name, [value]);
    if (event.headers) event.headers = withHeader(event.headers, name, value);
    if (!event.headers && !event.multiValueHeaders) event.headers = { [name]: value };
  }
  if (body === undefined) {
    event.body = null;
    event.isBase64Encoded = false;
  } else {
    event.body = change.base64 ? Buffer.from(body).toString('base64') : body;
    event.isBase64Encoded = change.base64 === true;
  }
  return event;
}

/**
 * A container of this run's artifact with `env` on top of the test defaults: rate limits off
 * unless a test sets them.
 */
export function startContainer(env: Record<string, string>): Promise<LambdaContainer> {
  return LambdaContainer.start(inject('lambdaArtifact'), { ...LIMITS_OFF, MAIL_DIR: join(tmpdir(), 'projects-api-test-mail'), ...env });
}
