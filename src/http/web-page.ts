import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { Hono } from 'hono';
import type { AppEnv } from './app-deps.ts';
import { chooseEncoding, COMPRESSION_THRESHOLD_BYTES, encode, ENCODINGS, type Encoding } from './compression.ts';

/** One file of the built page, with its compressed copies when it is big enough to gain from them. */
export interface WebAsset {
  body: Uint8Array;
  type: string;
  encoded: Partial<Record<Encoding, Uint8Array>>;
}

/** The built page by URL path: `/` (index.html) and `/assets/<name>`. */
export type WebAssets = ReadonlyMap<string, WebAsset>;

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};

/**
 * Reads the page `npm run build` wrote (dist/web) into memory, once at start-up; an entry whose
 * folder is missing serves no page. With `compress` (the Node server) each file is compressed
 * there and then, at the codecs' highest settings (about 60 ms for the whole page), rather than on
 * every request; the Lambda entry, which never compresses, spends none of its cold start on it.
 */
export function loadWebAssets(dir: string, { compress = false }: { compress?: boolean } = {}): WebAssets {
  const assets = new Map<string, WebAsset>();
  if (!existsSync(dir)) return assets;
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (type === undefined) continue;
    const body = readFileSync(join(dir, name));
    const encoded: WebAsset['encoded'] = {};
    if (compress && body.byteLength >= COMPRESSION_THRESHOLD_BYTES)
      for (const encoding of ENCODINGS) encoded[encoding] = encode(body, encoding, 'max');
    assets.set(name === 'index.html' ? '/' : `/assets/${name}`, { body, type, encoded });
  }
  return assets;
}

/**
 * `GET /` and `GET /assets/*`. The HTML is revalidated on every load; the assets are named by
 * their content's hash, so a browser may keep them for a year without asking. With `compress`, a
 * client that accepts Brotli or gzip gets the copy compressed at start-up.
 */
export function webPageRoutes(assets: WebAssets, compress: boolean) {
  const app = new Hono<AppEnv>();
  for (const [path, asset] of assets) {
    const cache = path === '/' ? 'no-cache' : 'public, max-age=31536000, immutable';
    const variable = compress && Object.keys(asset.encoded).length > 0;
    app.get(path, (c) => {
      const encoding = variable ? chooseEncoding(c.req.header('accept-encoding')) : undefined;
      const body = (encoding && asset.encoded[encoding]) ?? asset.body;
      return c.body(body.slice(), 200, {
        'Content-Type': asset.type,
        'Cache-Control': cache,
        'Content-Length': String(body.byteLength),
        ...(variable && { Vary: 'Accept-Encoding' }),
        ...(encoding && { 'Content-Encoding': encoding }),
      });
    });
  }
  return app;
}
