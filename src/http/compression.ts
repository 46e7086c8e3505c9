import type { Context, MiddlewareHandler } from 'hono';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import type { AppEnv } from './app-deps.ts';

/** The content codings this server sends, best first: Brotli is smaller than gzip at every level used here. */
export const ENCODINGS = ['br', 'gzip'] as const;
export type Encoding = (typeof ENCODINGS)[number];

/**
 * Bodies smaller than this go as they are: below about one TCP packet compression saves no round
 * trip, and the header and the codec's own framing eat most of what it saves.
 */
export const COMPRESSION_THRESHOLD_BYTES = 1024;

/** Text the server sends: HTML, CSS, JavaScript, JSON (and problem+json), SVG. */
const COMPRESSIBLE = /^(?:text\/|application\/(?:[\w.+-]+\+)?json|application\/javascript|image\/svg\+xml)/i;

/**
 * The coding to send for an `Accept-Encoding` header: the accepted one with the highest q-value,
 * Brotli on a tie; `*` stands for any not named. Undefined when none is acceptable (or no header:
 * identity, RFC 9110 §12.5.3).
 */
export function chooseEncoding(header: string | undefined): Encoding | undefined {
  if (header === undefined) return undefined;
  const q = new Map<string, number>();
  for (const part of header.split(',')) {
    const [name = '', ...params] = part.trim().toLowerCase().split(';');
    const qParam = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const value = qParam === undefined ? 1 : Number(qParam.slice(2));
    if (name !== '' && Number.isFinite(value)) q.set(name, value);
  }
  let best: { encoding: Encoding; q: number } | undefined;
  for (const encoding of ENCODINGS) {
    const weight = q.get(encoding) ?? q.get('*') ?? 0;
    if (weight > 0 && (best === undefined || weight > best.q)) best = { encoding, q: weight };
  }
  return best?.encoding;
}

/**
 * Compresses a whole body. `effort` is `max` for what is compressed once and served many times
 * (the built page, at start-up), `fast` for a response compressed as it is sent: Brotli's quality 4
 * compresses about as well as gzip's default, in less time.
 */
export function encode(body: Uint8Array, encoding: Encoding, effort: 'max' | 'fast'): Uint8Array {
  if (encoding === 'gzip') return gzipSync(body, { level: effort === 'max' ? 9 : 6 });
  return brotliCompressSync(body, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: effort === 'max' ? constants.BROTLI_MAX_QUALITY : 4,
      [constants.BROTLI_PARAM_MODE]: constants.BROTLI_MODE_TEXT,
      [constants.BROTLI_PARAM_SIZE_HINT]: body.byteLength,
    },
  });
}

/** Adds `Accept-Encoding` to a response's `Vary` unless it is there already (or `*`). */
function varyOnEncoding(headers: Headers): void {
  const vary = headers.get('vary');
  if (vary === null) headers.set('Vary', 'Accept-Encoding');
  else if (vary.trim() !== '*' && !/(?:^|,)\s*accept-encoding\s*(?:,|$)/i.test(vary)) headers.set('Vary', `${vary}, Accept-Encoding`);
}

function compressible(res: Response): boolean {
  if (res.body === null || res.status === 204 || res.status === 206 || res.status === 304) return false;
  if (res.headers.has('content-encoding')) return false;
  if (/(?:^|,)\s*no-transform\s*(?:,|$)/i.test(res.headers.get('cache-control') ?? '')) return false;
  const length = res.headers.get('content-length');
  if (length !== null && Number(length) < COMPRESSION_THRESHOLD_BYTES) return false;
  return COMPRESSIBLE.test(res.headers.get('content-type') ?? '');
}

/** Replaces the context's response; cleared first, since assigning over one makes Hono re-wrap its body as a stream. */
function replace(c: Context, body: Uint8Array, res: Response, headers: Headers): void {
  headers.set('Content-Length', String(body.byteLength));
  c.res = undefined;
  // zlib's output and a read body own their whole, unshared ArrayBuffer.
  c.res = new Response(body as Uint8Array<ArrayBuffer>, { status: res.status, headers });
}

/**
 * Compresses text responses of at least COMPRESSION_THRESHOLD_BYTES for clients that accept Brotli
 * or gzip, with `Vary: Accept-Encoding` on every response that could have been compressed, whether
 * or not this one was, and the compressed `Content-Length`. Bodies are whole in memory (see
 * declareLength), so this compresses in one call. A response already encoded (the built page,
 * compressed at start-up) is left alone. An `ETag` is kept as it is: it names a project's version,
 * which `If-Match` compares whatever the coding of the answer that carried it. A HEAD request is
 * answered GET's headers, compressed ones included.
 */
export function compressResponses(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    const res = c.res;
    if (!compressible(res)) return;
    const body = new Uint8Array(await res.arrayBuffer());
    const headers = new Headers(res.headers);
    if (body.byteLength < COMPRESSION_THRESHOLD_BYTES) {
      replace(c, body, res, headers);
      return;
    }
    varyOnEncoding(headers);
    const encoding = chooseEncoding(c.req.header('accept-encoding'));
    if (encoding === undefined) {
      replace(c, body, res, headers);
      return;
    }
    headers.set('Content-Encoding', encoding);
    replace(c, encode(body, encoding, 'fast'), res, headers);
  };
}
