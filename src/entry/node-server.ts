import { serve, type ServerType } from '@hono/node-server';
import type { App } from '../app.ts';

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

/** Serves the app on `port` with NODE_SERVER_LIMITS; `onListening` gets the bound port. */
export function startNodeServer(app: App, port: number, onListening: (port: number) => void): ServerType {
  const { maxHeaderSize, headersTimeout, requestTimeout, keepAliveTimeout } = NODE_SERVER_LIMITS;
  const server = serve({ fetch: app.fetch, port, serverOptions: { maxHeaderSize, headersTimeout, requestTimeout, keepAliveTimeout } }, (info) => {
    onListening(info.port);
  });
  // Node's serverOptions do not carry the keep-alive timeout; it is a property of the server.
  if ('keepAliveTimeout' in server) server.keepAliveTimeout = keepAliveTimeout;
  return server;
}
