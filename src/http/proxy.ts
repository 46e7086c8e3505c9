import type { Context } from 'hono';

function forwardedList(c: Context, header: string): string[] {
  return (c.req.header(header) ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * The client's address. With `hops` trusted proxies in front, each appends the address it received
 * the request from to `X-Forwarded-For`, so the client is the entry `hops` from the end; anything
 * further left was written by the client and is not believed. Without trusted proxies the header
 * is ignored entirely.
 */
export function clientAddress(c: Context, socketAddress: string | undefined, hops: number): string | undefined {
  if (hops === 0) return socketAddress;
  const chain = forwardedList(c, 'x-forwarded-for');
  return chain[Math.max(chain.length - hops, 0)] ?? socketAddress;
}

/** The host the client addressed: `X-Forwarded-Host` behind a trusted proxy, else `Host`. */
export function requestedHost(c: Context, hops: number): string | undefined {
  const forwarded = hops > 0 ? forwardedList(c, 'x-forwarded-host')[0] : undefined;
  return forwarded ?? c.req.header('host') ?? new URL(c.req.url).host;
}

export type Scheme = 'http' | 'https';

/** The scheme in the request's URL: the Node entry puts the socket's there, whatever an absolute-form target claimed. */
export function urlScheme(c: Context): Scheme {
  return new URL(c.req.url).protocol === 'https:' ? 'https' : 'http';
}

/**
 * The scheme the client used: `X-Forwarded-Proto` behind a trusted proxy (the entry the outermost
 * one wrote), else the connection's, as the entry point knows it.
 */
export function requestedScheme(c: Context, connection: Scheme, hops: number): Scheme {
  const chain = hops > 0 ? forwardedList(c, 'x-forwarded-proto') : [];
  const forwarded = chain[Math.max(chain.length - hops, 0)]?.toLowerCase();
  return forwarded === 'http' || forwarded === 'https' ? forwarded : connection;
}

/** The request's own origin (scheme, host, port; default ports elided), as a browser would write it. */
export function requestedOrigin(c: Context, scheme: Scheme, hops: number): string | undefined {
  const host = requestedHost(c, hops);
  if (host === undefined) return undefined;
  try {
    return new URL(`${scheme}://${host}`).origin;
  } catch {
    return undefined;
  }
}
