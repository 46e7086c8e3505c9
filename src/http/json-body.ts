import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { AppError } from '../errors/app-error.ts';

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

function mediaType(contentType: string): string {
  return contentType.split(';')[0]?.trim() ?? '';
}

/**
 * Gate for routes that take a JSON object body: 415 for a non-JSON `Content-Type`, 413 past
 * `limitBytes` (decided from `Content-Length`, or while streaming, before anything is parsed or
 * hashed), 400 INVALID_JSON for a missing, malformed or non-object body. The parsed object is
 * handed to the route's validator through Hono's body cache, so it is parsed once.
 */
export function jsonBody(limitBytes: number): MiddlewareHandler {
  const limit = bodyLimit({
    maxSize: limitBytes,
    onError: () => {
      throw new AppError('PAYLOAD_TOO_LARGE');
    },
  });
  return async (c, next) => {
    const contentType = c.req.header('content-type');
    if (contentType !== undefined && !JSON_MEDIA_TYPE.test(mediaType(contentType))) {
      throw new AppError('UNSUPPORTED_MEDIA_TYPE');
    }
    await limit(c, async () => {
      const raw = await c.req.text();
      if (contentType === undefined && raw !== '') throw new AppError('UNSUPPORTED_MEDIA_TYPE');
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch {
        throw new AppError('INVALID_JSON');
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new AppError('INVALID_JSON');
      c.req.bodyCache.json = Promise.resolve(value);
      await next();
    });
  };
}
