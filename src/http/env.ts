import type { Context } from 'hono';
import type { Kysely } from 'kysely';
import type { Config } from '../config.ts';
import type { DB } from '../db/schema.ts';
import type { Logger } from 'pino';
import type { Locale } from '../errors/messages.ts';
import type { SessionCache } from '../sessions/session-cache.ts';
import type { User } from '../users/users.repository.ts';

/** The signed-in caller and the session that proved it. */
export interface Caller {
  user: User;
  /** SHA-256 of the session token, hex; undefined when an API Gateway authorizer vouched instead. */
  sessionHash: string | undefined;
}

/** Hono environment shared by every route of the app. */
export interface AppEnv {
  Variables: {
    requestId: string;
    locale: Locale;
    logger: Logger;
    caller: Caller;
    /** What this request's queries run on: the app's pool, or the transaction of a keyed write. */
    db: Kysely<DB>;
    /** Signup's password hash, computed before a keyed signup's transaction opens. */
    passwordHash?: string;
  };
}

/** What every feature's routes are built from; passed down by createApp, never imported. */
export interface AppDeps {
  db: Kysely<DB>;
  config: Config;
  /** The client's address, from the entry point (Node socket, Lambda event) or a trusted proxy. */
  clientIp: (c: Context) => string | undefined;
  /** The host the client addressed (`Host`, or `X-Forwarded-Host` behind a trusted proxy). */
  requestHost: (c: Context) => string | undefined;
  /** Sessions this instance saw in the last second. */
  sessions: SessionCache;
  /**
   * The claims an API Gateway authorizer put in the request's event, when TRUST_GATEWAY_AUTH is
   * on and the entry point has an event; otherwise always undefined.
   */
  gatewayClaims: (c: Context) => Record<string, unknown> | undefined;
}
