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
