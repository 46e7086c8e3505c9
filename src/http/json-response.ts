import type { Context, TypedResponse } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { JSONParsed } from 'hono/utils/types';

/**
 * `c.json` that declares the body's length. The access line reports the bytes sent and every
 * response carries `Content-Length` (see declareLength), which Hono leaves to the adapter: a body
 * whose length is known here is never read back, copied and wrapped in a second response.
 */
export function respondJson<T, S extends ContentfulStatusCode>(
  c: Context,
  body: T,
  status: S,
  headers?: Record<string, string>,
  contentType = 'application/json',
): Response & TypedResponse<JSONParsed<T>, S, 'json'> {
  const text = JSON.stringify(body);
  const declared = { ...headers, 'Content-Type': contentType, 'Content-Length': String(Buffer.byteLength(text)) };
  // Typed as c.json types it: the body is `body` as JSON, which is what the route's schema checks.
  return c.body(text, status, declared) as unknown as Response & TypedResponse<JSONParsed<T>, S, 'json'>;
}
