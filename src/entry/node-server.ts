import { createServer, type IncomingMessage, type RequestListener, type ServerOptions } from 'node:http';
import { serve, type ServerType } from '@hono/node-server';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import type { App, CreateAppOptions } from '../app.ts';
import { readNodeBody, readWebBody } from '../http/body-reader.ts';

/** Limits of the Node HTTP server: slow or oversized requests are cut off before the app runs. */
export const NODE_SERVER_LIMITS = {
  /** Larger request headers get Node's 431 Request Header Fields Too Large. */
  maxHeaderSize: 16 * 1024,
  /** A client must finish sending its headers within this time (slowloris). */
  headersTimeout: 10_000,
  /** … and its whole request within this time. */
  requestTimeout: 30_000,
  keepAliveTimeout: 5_000,
} as const;

/** The timeouts of one server; tests shorten them. */
export interface NodeServerOptions {
  headersTimeout: number;
  requestTimeout: number;
  keepAliveTimeout: number;
}

/** The Node request behind a context; none when the app is driven through app.request. */
function incomingOf(c: Context): IncomingMessage | undefined {
  return (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
}

/**
 * What the app needs from the Node runtime: the peer's address, the request target as it came off
 * the socket (in origin-form, see routableTarget), and the request body, read off the socket.
 */
export const NODE_APP_BINDINGS = {
  socketAddress: (c) => getConnInfo(c).remote.address,
  requestPath: (c) => incomingOf(c)?.url,
  // The IncomingMessage itself: reading through `c.req.raw` would make the adapter build a full web
  // Request (a ReadableStream and an AbortSignal) for every request with a body. Without one (the
  // app driven through app.request) the web Request is all there is.
  readBody: (c, limitBytes) => {
    const incoming = incomingOf(c);
    return incoming ? readNodeBody(incoming, limitBytes) : readWebBody(c, limitBytes);
  },
} satisfies Pick<CreateAppOptions, 'socketAddress' | 'requestPath' | 'readBody'>;

/**
 * How often Node checks the header and request timeouts (its default, 30 s, would let a slow client
 * hold a connection up to 30 s past them).
 */
function checkingInterval(timeouts: NodeServerOptions): number {
  return Math.max(Math.min(1_000, timeouts.headersTimeout / 4), 50);
}

// The scheme and authority of an absolute-form target (`POST https://host/path`), cut off as text:
// a URL parser would also resolve the path's dot-segments, which the app must still see.
const ABSOLUTE_FORM_PREFIX = /^https?:\/\/[^/?#\\]*/i;

/**
 * The request target as the app may route it. An absolute-form target names a scheme the
 * connection may not have, and the app reads the scheme from the URL: it is reduced to
 * origin-form, so the scheme comes from the socket (or a trusted proxy's X-Forwarded-Proto).
 */
function routableTarget(target: string): string {
  const prefix = target.startsWith('/') ? undefined : ABSOLUTE_FORM_PREFIX.exec(target)?.[0];
  if (prefix === undefined) return target;
  const path = target.slice(prefix.length);
  return path.startsWith('/') ? path : `/${path}`;
}

function originForm(listener: RequestListener): RequestListener {
  return (incoming, outgoing) => {
    incoming.url = routableTarget(incoming.url ?? '');
    listener(incoming, outgoing);
  };
}

/** Serves the app on `port` with NODE_SERVER_LIMITS (or `timeouts`); `onListening` gets the bound port. */
export function startNodeServer(
  app: App,
  port: number,
  timeouts: Partial<NodeServerOptions>,
  onListening: (port: number) => void,
): ServerType {
  const limits = { ...NODE_SERVER_LIMITS, ...timeouts };
  const { maxHeaderSize, headersTimeout, requestTimeout, keepAliveTimeout } = limits;
  const serverOptions: ServerOptions = {
    maxHeaderSize,
    headersTimeout,
    requestTimeout,
    keepAliveTimeout,
    connectionsCheckingInterval: checkingInterval(limits),
  };
  const server = serve(
    {
      fetch: app.fetch,
      port,
      serverOptions,
      // Bodies are read by the app (readNodeBody), and one it leaves unread is discarded by Node so
      // the connection stays usable; the adapter's own clean-up would reset it after 500 ms.
      autoCleanupIncoming: false,
      createServer: ((options: ServerOptions, listener: RequestListener) =>
        createServer(options, originForm(listener))) as typeof createServer,
    },
    (info) => {
      onListening(info.port);
    },
  );
  // Node's serverOptions do not carry the keep-alive timeout; it is a property of the server.
  if ('keepAliveTimeout' in server) server.keepAliveTimeout = keepAliveTimeout;
  return server;
}
