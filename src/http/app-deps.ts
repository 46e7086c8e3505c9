import type { Context } from 'hono';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { AuthDeps, AuthEnv } from '../auth/caller.ts';
import type { DB } from '../db/schema.ts';
import type { AppError } from '../errors/app-error.ts';
import type { Locale } from '../errors/messages.ts';
import type { MailJob } from '../mail/mailer.ts';
import type { BodyReader } from './body-reader.ts';

/** Hono environment shared by every route of the app. */
export interface AppEnv {
  Variables: AuthEnv['Variables'] & {
    requestId: string;
    locale: Locale;
    /** The app's logger; requestLogger(c) binds the request id. */
    logger: Logger;
    /** What this request's queries run on: the app's pool, or the transaction of a keyed write. */
    db: Kysely<DB>;
    /** Mail the request asks for, sent once it has answered with success (its writes committed). */
    mail: MailJob[];
    /** The error the response renders, once renderError has run: what the metrics count. */
    failure?: AppError;
  };
}

/** What every feature's routes are built from; passed down by createApp, never imported. */
export interface AppDeps extends AuthDeps {
  /** The client's address, from the entry point (Node socket, Lambda event) or a trusted proxy. */
  clientIp: (c: Context) => string | undefined;
  /**
   * The origin the client addressed: the connection's scheme and `Host`, or `X-Forwarded-Proto` and
   * `X-Forwarded-Host` behind a trusted proxy.
   */
  requestOrigin: (c: Context) => string | undefined;
  /** Reads a request body within a limit, the way the runtime the app runs on does it best. */
  readBody: BodyReader;
}
