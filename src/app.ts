import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { Config } from './config.ts';
import type { DB } from './db/schema.ts';
import { AppError } from './errors/app-error.ts';
import { renderError } from './errors/render.ts';
import { toAppError } from './errors/to-app-error.ts';
import { healthRoutes } from './health/health.routes.ts';
import { createLogger } from './logger.ts';
import { docsRoutes } from './http/docs.ts';
import type { AppDeps, AppEnv } from './http/env.ts';
import { allowedMethods } from './http/method-not-allowed.ts';
import { clientAddress, requestedHost } from './http/proxy.ts';
import { requestContext } from './http/request-context.ts';
import { securityHeaders } from './http/security-headers.ts';
import { validationHook } from './http/validation.ts';
import { projectsRoutes } from './projects/projects.routes.ts';
import { SessionCache } from './sessions/session-cache.ts';
import { sessionsRoutes } from './sessions/sessions.routes.ts';
import { usersRoutes } from './users/users.routes.ts';

export interface CreateAppOptions {
  db: Kysely<DB>;
  config: Config;
  /** Defaults to JSON lines on stdout at `config.logLevel`. */
  logger?: Logger;
  /** The address of the peer that connected, as the entry point knows it; unknown by default. */
  socketAddress?: (c: Context) => string | undefined;
  /**
   * The claims an API Gateway authorizer put in the request's event (Lambda only). Believed only
   * with TRUST_GATEWAY_AUTH; otherwise never called.
   */
  gatewayClaims?: (c: Context) => Record<string, unknown> | undefined;
  /**
   * Runs before any route, after the request id and locale are known; throwing an AppError answers
   * with it. For what only the entry point can judge (an event body that cannot be decoded, a
   * schema that is not current).
   */
  admit?: (c: Context) => Promise<void> | void;
}

/** How long a session seen by this instance is believed without asking the database again. */
const SESSION_CACHE_MS = 1_000;

/** The OpenAPI document's fixed part; paths and schemas come from the routes. */
const OPENAPI_INFO = {
  openapi: '3.1.0',
  info: {
    title: 'projects-api',
    version: '0.1.0',
    description:
      'Users & Projects with correct duplicate and conflict handling. Failures use one envelope ' +
      '(or RFC 9457 problem details with `Accept: application/problem+json`); messages are Korean ' +
      'by default and English with `Accept-Language: en`.',
  },
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
  gatewayClaims,
  admit,
}: CreateAppOptions) {
  const deps: AppDeps = {
    db,
    config,
    clientIp: (c) => clientAddress(c, socketAddress(c), config.trustProxyHops),
    requestHost: (c) => requestedHost(c, config.trustProxyHops),
    sessions: new SessionCache(SESSION_CACHE_MS),
    gatewayClaims: config.trustGatewayAuth && gatewayClaims ? gatewayClaims : () => undefined,
  };
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.use(requestContext(logger, config.defaultLocale));
  app.use(async (c, next) => {
    c.set('db', db);
    await next();
  });
  app.use(securityHeaders());
  if (admit) {
    app.use(async (c, next) => {
      await admit(c);
      await next();
    });
  }

  app.route('/', usersRoutes(deps));
  app.route('/', sessionsRoutes(deps));
  app.route('/', projectsRoutes(deps));
  app.route('/', healthRoutes(deps));
  app.route('/', docsRoutes());

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description:
      'The session token from POST /api/sessions. On AWS Lambda with TRUST_GATEWAY_AUTH=true, the ' +
      "API Gateway authorizer's token instead: its claims (issuer + sub) name the caller.",
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'cookie', { type: 'apiKey', in: 'cookie', name: 'sid' });
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
    const { error, fault } = toAppError(err);
    if (fault) (c.get('logger') ?? logger).error({ err, requestId: c.get('requestId') }, 'request failed');
    return renderError(c, error);
  });

  return app;
}

/** The app type, for tests and entry points. */
export type App = ReturnType<typeof createApp>;
