import type { Context } from 'hono';
import type { Kysely } from 'kysely';
import type { Config } from '../config.ts';
import type { DB, User } from '../db/schema.ts';
import type { CallerCache } from './caller-cache.ts';

/** The signed-in caller and the session that proved it. */
export interface Caller {
  user: User;
  /** SHA-256 of the session token, hex; undefined when an API Gateway authorizer vouched instead. */
  sessionHash: string | undefined;
}

/** What the auth middleware reads from and puts into a request's context. */
export interface AuthEnv {
  Variables: {
    caller: Caller;
    /** The scheme the client used: whether the session cookie is Secure. */
    scheme: 'http' | 'https';
  };
}

/**
 * Who trusted gateway claims name: a key unique to that identity (for the caller cache) and how to
 * find or create its user. Undefined when the claims name nobody.
 */
export type GatewayCaller = (claims: Record<string, unknown>) => { key: string; user: (db: Kysely<DB>) => Promise<User> } | undefined;

/** What telling the caller needs; createApp passes it down (the app's deps are a superset). */
export interface AuthDeps {
  db: Kysely<DB>;
  config: Config;
  /** The callers (sessions, gateway identities) this instance identified in the last second. */
  callers: CallerCache;
  /** The origin the client addressed, for the CSRF check. */
  requestOrigin: (c: Context) => string | undefined;
  /** Trusted gateway claims of the request, or undefined (always, unless TRUST_GATEWAY_AUTH). */
  trustedIdentityClaims: (c: Context) => Record<string, unknown> | undefined;
  /** Provisioning of gateway identities, owned by the users feature and passed in by createApp. */
  gatewayCaller: GatewayCaller;
}
