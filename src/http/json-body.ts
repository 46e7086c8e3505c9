import type { MiddlewareHandler } from 'hono';
import { AppError } from '../errors/app-error.ts';
import type { BodyReader } from './body-reader.ts';

const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json$/i;

// Bytes that are not UTF-8 are refused, not replaced with U+FFFD and stored.
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

function mediaType(contentType: string): string {
  return contentType.split(';')[0]?.trim() ?? '';
}

/** Whether `Content-Encoding` is absent or only `identity`: the server decodes no other. */
function unencoded(contentEncoding: string | undefined): boolean {
  if (contentEncoding === undefined) return true;
  return contentEncoding.split(',').every((coding) => ['', 'identity'].includes(coding.trim().toLowerCase()));
}

/**
 * Gate for routes that take a JSON object body: 415 for a non-JSON `Content-Type` or an encoded
 * body, 413 past `limitBytes` (from `Content-Length`, or while reading, before anything is parsed
 * or hashed), 400 INVALID_JSON for a body that is not UTF-8, missing, malformed or not an object.
 * The text and the parsed object go into Hono's body cache: the route's validator and the
 * idempotency fingerprint read them from there, so the body is read and parsed once.
 */
export function jsonBody(limitBytes: number, readBody: BodyReader): MiddlewareHandler {
  return async (c, next) => {
    const contentType = c.req.header('content-type');
    if (contentType !== undefined && !JSON_MEDIA_TYPE.test(mediaType(contentType))) {
      throw new AppError('UNSUPPORTED_MEDIA_TYPE');
    }
    if (!unencoded(c.req.header('content-encoding'))) {
      throw new AppError('UNSUPPORTED_MEDIA_TYPE', { text: 'unsupportedMedia.contentEncoding', field: 'content-encoding' });
    }
    const bytes = await readBody(c, limitBytes);
    let raw: string;
    try {
      raw = STRICT_UTF8.decode(bytes);
    } catch {
      throw new AppError('INVALID_JSON', { text: 'invalidJson.utf8', field: 'body' });
    }
    if (contentType === undefined && raw !== '') throw new AppError('UNSUPPORTED_MEDIA_TYPE');
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      throw new AppError('INVALID_JSON');
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new AppError('INVALID_JSON');
    // Hono types the cache by the values it holds promises of.
    const cache = c.req.bodyCache as unknown as Record<'text' | 'json', Promise<unknown>>;
    cache.text = Promise.resolve(raw);
    cache.json = Promise.resolve(value);
    await next();
  };
}
