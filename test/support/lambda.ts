import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { inject } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const FIXTURES = join(ROOT, '../shared/fixtures/lambda-events');

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

/** A fixture event from ../shared/fixtures/lambda-events, without the BOM some of them start with. */
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
  const url = new URL(change.path, 'http://x');
  const headers: Record<string, string> = { ...change.headers };
  let body = change.body;
  if (change.json !== undefined) {
    body = JSON.stringify(change.json);
    headers['content-type'] ??= 'application/json';
  }
  const isV2 = 'rawPath' in event;
  if (change.cookies && !isV2) headers.cookie = change.cookies.join('; ');
  if (isV2) {
    event.rawPath = url.pathname;
    event.rawQueryString = url.search.slice(1);
    event.requestContext.http.method = change.method;
    event.requestContext.http.path = url.pathname;
    if (change.cookies) event.cookies = change.cookies;
  } else {
    event.httpMethod = change.method;
    event.path = url.pathname;
    if (event.requestContext?.httpMethod) event.requestContext.httpMethod = change.method;
    const query = [...url.searchParams];
    const multi = event.multiValueQueryStringParameters !== undefined && event.multiValueQueryStringParameters !== null;
    event.queryStringParameters = query.length > 0 ? Object.fromEntries(query) : null;
    if (multi || 'multiValueQueryStringParameters' in event) {
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

/** What the handler returned, read like an HTTP response. */
export interface LambdaResponse {
  status: number;
  /** Lower-case names; from `headers` or, for multi-value results, the first of each. */
  headers: Record<string, string>;
  /** Set-Cookie values, wherever the result's format put them. */
  cookies: string[];
  body: any;
  raw: any;
}

function readResult(raw: any): LambdaResponse {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries<string>(raw.headers ?? {})) headers[k.toLowerCase()] = v;
  for (const [k, v] of Object.entries<string[]>(raw.multiValueHeaders ?? {})) headers[k.toLowerCase()] ??= v[0] ?? '';
  const cookies: string[] = raw.cookies ?? raw.multiValueHeaders?.['set-cookie'] ?? (raw.headers?.['set-cookie'] ? [raw.headers['set-cookie']] : []);
  const text = raw.isBase64Encoded ? Buffer.from(raw.body, 'base64').toString('utf8') : raw.body;
  const json = (headers['content-type'] ?? '').includes('json') && text;
  return { status: raw.statusCode, headers, cookies, body: json ? JSON.parse(text) : text, raw };
}

/**
 * One Lambda container: a process that imported the built handler from the artifact folder (its
 * init phase ran once), answering events. Its stdout (the handler's logs) is kept in `logs`.
 */
export class LambdaContainer {
  /** Every JSON line the handler wrote to stdout, parsed. */
  readonly logs: Record<string, unknown>[];
  readonly initMs: number;
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (r: LambdaResponse) => void; reject: (e: Error) => void }>();
  #next = 0;

  private constructor(child: ChildProcess, initMs: number, lines: AsyncIterator<string>, logs: Record<string, unknown>[]) {
    this.#child = child;
    this.initMs = initMs;
    this.logs = logs;
    void (async () => {
      for (let line = await lines.next(); !line.done; line = await lines.next()) {
        const message = JSON.parse(line.value);
        const waiter = this.#pending.get(message.id);
        this.#pending.delete(message.id);
        if (message.error) waiter?.reject(new Error(message.error));
        else waiter?.resolve(readResult(message.result));
      }
    })();
  }

  /**
   * Starts a container with `env` (rate limits off unless set). It is ready when the handler module
   * has finished its init phase; an init failure rejects with what the process printed.
   */
  static async start(env: Record<string, string>): Promise<LambdaContainer> {
    const { dir, handler } = inject('lambdaArtifact');
    const child = spawn(process.execPath, [join(ROOT, 'scripts/lambda-runner.mjs'), dir, handler], {
      cwd: dir,
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH,
        RATE_LIMIT_AVAILABILITY_PER_MINUTE: '0',
        RATE_LIMIT_SIGNUP_PER_MINUTE: '0',
        RATE_LIMIT_LOGIN_PER_MINUTE: '0',
        RATE_LIMIT_LOGIN_FAILURES: '0',
        ...env,
      },
    });
    const logs: Record<string, unknown>[] = [];
    let printed = '';
    createInterface({ input: child.stdout }).on('line', (line) => {
      printed += `${line}\n`;
      try {
        logs.push(JSON.parse(line));
      } catch {
        // Not a log line; kept in `printed` for an init failure's message.
      }
    });
    (child.stderr).on('data', (chunk: Buffer) => {
      printed += chunk.toString();
    });
    const lines = createInterface({ input: child.stdio[3] as Readable })[Symbol.asyncIterator]();
    const first = await lines.next();
    const hello = first.done ? {} : JSON.parse(first.value);
    if (!hello.ready) {
      child.kill();
      throw new Error(`the handler failed to initialise: ${hello.initError ?? ''}\n${printed}`);
    }
    return new LambdaContainer(child, hello.initMs, lines, logs);
  }

  /** Invokes the handler with one event. */
  invoke(event: unknown): Promise<LambdaResponse> {
    const id = ++this.#next;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      (this.#child.stdin as Writable).write(`${JSON.stringify({ id, event })}\n`);
    });
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#child.exitCode !== null) {
        resolve();
        return;
      }
      this.#child.once('exit', () => {
        resolve();
      });
      this.#child.kill();
    });
  }
}
