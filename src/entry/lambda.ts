import { fileURLToPath } from 'node:url';
import type { Context } from 'hono';
import { getConnInfo, handle, type LambdaContext, type LambdaEvent } from 'hono/aws-lambda';
import { createApp } from '../app.ts';
import { ConfigError, loadConfig, type Config } from '../config.ts';
import { openConfiguredDb } from '../db/database.ts';
import { migrate, pendingMigrations } from '../db/migrations.ts';
import { AppError } from '../errors/app-error.ts';
import { RETRY_AFTER_SECONDS } from '../http/to-app-error.ts';
import { loadWebAssets } from '../http/web-page.ts';
import { createLogger } from '../logger.ts';
import { createSendMail, Outbox } from '../mail/mailer.ts';
import { runMaintenance } from '../maintenance.ts';
import { startTracing } from '../observability/tracing.ts';
import {
  authorizerClaims,
  hasUndecodableBody,
  isScheduledEvent,
  requestPath,
  withoutStagePrefix,
  type ScheduledEvent,
  connectionScheme,
} from './lambda-event.ts';

// Everything up to `handler` runs once per container, in Lambda's init phase; invocations reuse
// the configuration, the pool and the app.

/** One request at a time reaches a container, so a pool of two serves it with one to spare. */
const LAMBDA_POOL_MAX = '2';

function lambdaConfig(): Config {
  try {
    return loadConfig(undefined, { DB_POOL_MAX: LAMBDA_POOL_MAX });
  } catch (err) {
    // Lambda reports a failed init with the error; the one-line message is what to read.
    if (err instanceof ConfigError) process.stderr.write(`${err.message}\n`);
    throw err;
  }
}

const config = lambdaConfig();
const logger = createLogger(config.logLevel);
const tracing = await startTracing(config, logger);
const database = await openConfiguredDb(config, logger, tracing && { log: tracing.requests.queryLog });

type SchemaState = { current: true } | { current: false; pending: string[] } | { current: false; error: unknown };

// An embedded database lives and dies with the container, so it is migrated here. A server's
// schema is migrated by `npm run migrate` before a deploy; a cold start only checks it, and asks
// again on every request until it is current, so applying the migrations heals a running function.
const ensureSchema = database.kind === 'pglite' ? () => migrate(database.db).then(() => []) : () => pendingMigrations(database.db);

function checkSchema(): Promise<SchemaState> {
  return ensureSchema().then(
    (pending): SchemaState => (pending.length === 0 ? { current: true } : { current: false, pending }),
    (error: unknown): SchemaState => ({ current: false, error }),
  );
}

let schema: Promise<SchemaState> | undefined = checkSchema();
await schema;

async function requireCurrentSchema(): Promise<void> {
  schema ??= checkSchema();
  const state = await schema;
  if (state.current) return;
  schema = undefined;
  if ('error' in state) throw state.error;
  logger.error({ pending: state.pending }, 'the database schema is not current: run `npm run migrate`');
  throw new AppError('SERVICE_UNAVAILABLE', {
    text: 'unavailable.schemaOutdated',
    headers: { 'Retry-After': String(RETRY_AFTER_SECONDS) },
  });
}

/** Events whose base64 body could not be decoded; the app answers them 400 before any route. */
const undecodable = new WeakSet<object>();

function eventOf(c: Context): LambdaEvent {
  return (c.env as { event: LambdaEvent }).event;
}

// A frozen container sends nothing: each invocation waits for the mail it asked for (retries
// included) before it answers.
const outbox = new Outbox(createSendMail(config, logger), logger);

const app = createApp({
  db: database.db,
  config,
  logger,
  outbox,
  // The artifact carries the page in web/, next to index.mjs.
  webAssets: loadWebAssets(fileURLToPath(new URL('web', import.meta.url))),
  tracing: tracing?.requests,
  socketAddress: (c) => getConnInfo(c).remote.address,
  connectionScheme: (c) => connectionScheme(eventOf(c)),
  requestPath: (c) => requestPath(eventOf(c)),
  trustedIdentityClaims: (c) => authorizerClaims(eventOf(c)),
  // An event whose body could not be decoded, and a schema that is not current, are answered
  // before any route.
  beforeRoutes: async (c) => {
    if (undecodable.has(eventOf(c))) throw new AppError('INVALID_JSON', { text: 'invalidJson.base64' });
    await requireCurrentSchema();
  },
});

const toApp = handle(app);

/**
 * The Lambda entry: API Gateway REST (payload 1.0), HTTP API (payload 2.0) and ALB events, all
 * answered by the same app as the Node server; and the hourly schedule of template.yaml, which
 * runs the maintenance the Node server runs on its timer (a failure fails the invocation, which
 * Lambda retries, as it does any asynchronous invocation).
 */
export async function handler(event: LambdaEvent | ScheduledEvent, context?: LambdaContext) {
  if (isScheduledEvent(event)) return runMaintenance(database.db, config, logger);
  let routed = withoutStagePrefix(event);
  if (hasUndecodableBody(routed)) {
    // Hono's adapter would fail on the body before the app saw the request.
    routed = { ...routed, body: null, isBase64Encoded: false };
    undecodable.add(routed);
  }
  const response = await toApp(routed, context);
  await outbox.drain();
  // A container is frozen between invocations, and a batch waiting for its timer could wait for
  // good: the spans go before the answer does (to a collector nearby, the ADOT extension's).
  await tracing?.flush();
  return response;
}
