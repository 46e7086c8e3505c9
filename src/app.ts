import type { Context } from 'hono';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { DB } from './db/schema.ts';
import { AppError } from './errors/app-error.ts';
import { renderError } from './http/render-error.ts';
import { toAppError } from './http/to-app-error.ts';
import { healthRoutes } from './health/health.routes.ts';
import { createLogger } from './logger.ts';
import type { Metrics } from './observability/metrics.ts';
import { requestMetrics } from './observability/metrics-middleware.ts';
import { docsRoutes } from './http/docs.ts';
import { hasDotSegment } from './http/dot-segments.ts';
import type { AppDeps, AppEnv } from './http/app-deps.ts';
import { allowedMethods } from './http/method-not-allowed.ts';
import { ClientAbort, readWebBody, type BodyReader } from './http/body-reader.ts';
import { compressResponses } from './http/compression.ts';
import { clientAddress, requestedOrigin, requestedScheme, urlScheme, type Scheme } from './http/proxy.ts';
import { requestContext } from './http/request-context.ts';
import { securityHeaders } from './http/security-headers.ts';
import { createRouter } from './http/router.ts';
import { webPageRoutes, type WebAssets } from './http/web-page.ts';
import { projectsRoutes } from './projects/projects.routes.ts';
import { CallerCache } from './auth/caller-cache.ts';
import { sessionsRoutes } from './sessions/sessions.routes.ts';
import { usersRoutes } from './users/users.routes.ts';
import { gatewayCaller } from './users/users.service.ts';
import type { RequestTracing } from './observability/tracing.ts';
import { createSendMail, Outbox, type MailJob } from './mail/mailer.ts';
import { verificationRoutes } from './users/verification.routes.ts';

export interface CreateAppOptions {
  db: Kysely<DB>;
  config: Config;
  /** Defaults to JSON lines on stdout at `config.logLevel`. */
  logger?: Logger;
  /** The address of the peer that connected, as the entry point knows it; unknown by default. */
  socketAddress?: (c: Context) => string | undefined;
  /**
   * The claims a trusted identity provider in front of the app attached to the request (an API
   * Gateway authorizer's, for the Lambda entry). Believed only with TRUST_GATEWAY_AUTH; otherwise
   * never called.
   */
  trustedIdentityClaims?: (c: Context) => Record<string, unknown> | undefined;
  /**
   * Runs before any route, after the request id and locale are known; throwing an AppError answers
   * with it. For what only the entry point can judge about a request.
   */
  beforeRoutes?: (c: Context) => Promise<void> | void;
  /**
   * The request's path (a query may follow) as the client sent it, before the URL parser resolved
   * its dot-segments; one that has any is an unknown route (404), on every entry alike. Undefined
   * when only the parsed URL is known, which has none left to see.
   */
  requestPath?: (c: Context) => string | undefined;
  /** The scheme of the connection the request came on; by default the request URL's. */
  connectionScheme?: (c: Context) => Scheme;
  /** Reads a request body within a limit; defaults to reading the web Request's stream. */
  readBody?: BodyReader;
  /** The built web page, served at `/`; loaded by the entry point (see loadWebAssets). None by default. */
  webAssets?: WebAssets;
  /** Where every request is counted and timed; none by default (nothing is recorded nobody reads). */
  metrics?: Metrics;
  /** A span per request when tracing is on (see startTracing); none when undefined. */
  tracing?: RequestTracing;
  /** Where the mail requests ask for goes; by default SMTP_URL's server (or MAIL_DIR), retried in the background. */
  outbox?: Outbox;
  /**
   * Whether text responses are compressed for clients that accept it (see compressResponses): on
   * the Node server. Off by default, and under Lambda, where API Gateway would carry a compressed
   * body base64-encoded (a third larger) and can compress by itself (a REST API's
   * minimumCompressionSize).
   */
  compress?: boolean;
}

/** How long a caller identified by this instance is believed without asking the database again. */
const CALLER_CACHE_MS = 1_000;

/** The OpenAPI document's fixed part; paths and schemas come from the routes. */
const OPENAPI_INFO = {
  openapi: '3.1.0',
  info: {
    title: 'projects-api',
    version: '0.1.0',
    description:
      'Users & Projects with correct duplicate and conflict handling: a taken username, email or ' +
      'project title is a 409 that names the `field`, and for a title the live project that holds it (`conflict`). ' +
      'Failures use one envelope (or RFC 9457 problem details with `Accept: application/problem+json`); ' +
      'messages are Korean by default and English with `Accept-Language: en`. The full contract is ' +
      '`docs/spec.md` in the repository.',
    // OpenAPI 3.1 names the licence by its SPDX identifier (the LICENSE file at the repository's root).
    license: { name: 'MIT', identifier: 'MIT' },
    contact: { name: 'projects-api maintainers' },
  },
  // The host the document was fetched from, whichever that is (local, behind a proxy, API Gateway).
  servers: [{ url: '/', description: 'this server' }],
  tags: [
    {
      name: 'users',
      description: 'Sign up, check availability, read, change and delete accounts. A taken username or email is a 409 naming the field.',
    },
    {
      name: 'sessions',
      description: 'Log in and out. The token from login goes in `Authorization: Bearer`; a browser also gets it as an HttpOnly cookie.',
    },
    {
      name: 'projects',
      description:
        "The caller's projects: titles unique per owner among live projects, soft delete and restore, `ETag` / `If-Match`, `Idempotency-Key` on create and restore.",
    },
    { name: 'operations', description: 'Liveness and readiness probes for load balancers and orchestrators.' },
  ],
};

/**
 * Builds the whole HTTP app from its dependencies, with no module-level state: the Node server
 * and the Lambda handler only wrap what this returns.
 */
export function createApp({
  db,
  config,
  logger = createLogger(config.logLevel),
  socketAddress = () => undefined,
  trustedIdentityClaims,
  beforeRoutes,
  requestPath = () => undefined,
  readBody = readWebBody,
  webAssets = new Map(),
  connectionScheme = urlScheme,
  metrics,
  tracing,
  outbox = new Outbox(createSendMail(config, logger), logger, { onFailure: () => metrics?.mailFailed() }),
  compress = false,
}: CreateAppOptions) {
  const hops = config.trustProxyHops;
  const deps: AppDeps = {
    db,
    config,
    clientIp: (c) => clientAddress(c, socketAddress(c), config.trustProxyHops),
    requestOrigin: (c) => requestedOrigin(c, (c as Context<AppEnv>).get('scheme'), hops),
    callers: new CallerCache(CALLER_CACHE_MS),
    readBody,
    trustedIdentityClaims: config.trustGatewayAuth && trustedIdentityClaims ? trustedIdentityClaims : () => undefined,
    gatewayCaller,
  };
  const app = createRouter();

  // Tracing first, so the span covers every other middleware and the error handler's answer.
  if (tracing) app.use(tracing.middleware);
  if (metrics) app.use(requestMetrics(metrics));
  app.use(requestContext(logger, config.defaultLocale, (c) => requestedScheme(c, connectionScheme(c), hops), deps.clientIp));
  app.use(securityHeaders());
  if (compress) app.use(compressResponses());
  // One middleware for both: every level of the chain costs each request a promise and a closure.
  // Mail goes only once the request has succeeded: after a keyed request's transaction committed,
  // never for a replay (its handler does not run) or a failure.
  app.use(async (c, next) => {
    c.set('db', db);
    if (hasDotSegment(requestPath(c) ?? '')) throw new AppError('NOT_FOUND_RESOURCE');
    const mail: MailJob[] = [];
    c.set('mail', mail);
    await next();
    if (mail.length > 0 && c.res.status < 400) outbox.dispatch(mail);
  });
  if (beforeRoutes) {
    app.use(async (c, next) => {
      await beforeRoutes(c);
      await next();
    });
  }

  app.route('/', usersRoutes(deps));
  app.route('/', verificationRoutes(deps));
  app.route('/', sessionsRoutes(deps));
  app.route('/', projectsRoutes(deps));
  app.route('/', healthRoutes());
  app.route('/', docsRoutes());
  app.route('/', webPageRoutes(webAssets, compress));

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description:
      'The `token` from POST /api/sessions. In a browser the session cookie works too: once logged in ' +
      '(on /docs, with "Try it out" on POST /api/sessions) it is sent by itself and nothing needs authorizing. ' +
      "On AWS Lambda with TRUST_GATEWAY_AUTH=true, the API Gateway authorizer's token instead: its " +
      'claims (issuer + sub) name the caller.',
  });
  app.doc31('/openapi.json', OPENAPI_INFO);

  const methodsFor = allowedMethods(app as never);
  app.notFound((c) => {
    const allowed = methodsFor(c.req.path);
    if (allowed.length === 0) return renderError(c, new AppError('NOT_FOUND_RESOURCE'));
    const allow = allowed.join(', ');
    if (c.req.method === 'OPTIONS') return c.body(null, 204, { Allow: allow });
    return renderError(c, new AppError('METHOD_NOT_ALLOWED', { headers: { Allow: allow } }));
  });

  app.onError((err, c) => {
    if (err instanceof ClientAbort) {
      // Nobody is left to answer; 499 (as nginx logs it) marks the access-log line.
      (c.get('logger') ?? logger).info({ requestId: c.get('requestId') }, 'client aborted the request');
      return new Response(null, { status: 499 });
    }
    const { error, fault } = toAppError(err);
    if (fault) (c.get('logger') ?? logger).error({ err, requestId: c.get('requestId') }, 'request failed');
    return renderError(c, error);
  });

  return app;
}

/** The app type, for tests and entry points. */
export type App = ReturnType<typeof createApp>;
