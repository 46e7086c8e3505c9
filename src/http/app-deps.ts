import type { Context } from 'hono';
import type { Kysely } from 'kysely';
import type { Config } from '../config.ts';
import type { DB } from '../db/schema.ts';
import type { Logger } from 'pino';
import type { Locale } from '../errors/messages.ts';
import type { BodyReader } from './body-reader.ts';
import type { CallerCache } from './caller-cache.ts';
import type { User } from '../db/schema.ts';

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
    /** The app's logger; requestLogger(c) binds the request id. */
    logger: Logger;
    caller: Caller;
    /** What this request's queries run on: the app's pool, or the transaction of a keyed write. */
    db: Kysely<DB>;
    /** The scheme the client used (the connection's, or a trusted proxy's X-Forwarded-Proto). */
    scheme: 'http' | 'https';
  };
}

/** What every feature's routes are built from; passed down by createApp, never imported. */
export interface AppDeps {
  db: Kysely<DB>;
  config: Config;
  /** The client's address, from the entry point (Node socket, Lambda event) or a trusted proxy. */
  clientIp: (c: Context) => string | undefined;
  /**
   * The origin the client addressed: the connection's scheme and `Host`, or `X-Forwarded-Proto` and
   * `X-Forwarded-Host` behind a trusted proxy.
   */
  requestOrigin: (c: Context) => string | undefined;
  /** The callers (sessions, gateway identities) this instance identified in the last second. */
  callers: CallerCache;
  /** Reads a request body within a limit, the way the runtime the app runs on does it best. */
  readBody: BodyReader;
  /**
   * The claims a trusted identity provider attached to the request, when TRUST_GATEWAY_AUTH is on
   * and the entry point has such claims; otherwise always undefined.
   */
  trustedIdentityClaims: (c: Context) => Record<string, unknown> | undefined;
}
