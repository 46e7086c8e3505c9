import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { Hono } from 'hono';
import type { AppEnv } from './app-deps.ts';

/** One file of the built page. */
export interface WebAsset {
  body: Uint8Array;
  type: string;
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
 * folder is missing serves no page.
 */
export function loadWebAssets(dir: string): WebAssets {
  const assets = new Map<string, WebAsset>();
  if (!existsSync(dir)) return assets;
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (type === undefined) continue;
    assets.set(name === 'index.html' ? '/' : `/assets/${name}`, { body: readFileSync(join(dir, name)), type });
  }
  return assets;
}

/**
 * `GET /` and `GET /assets/*`. The HTML is revalidated on every load; the assets are named by
 * their content's hash, so a browser may keep them for a year without asking.
 */
export function webPageRoutes(assets: WebAssets) {
  const app = new Hono<AppEnv>();
  for (const [path, asset] of assets) {
    const cache = path === '/' ? 'no-cache' : 'public, max-age=31536000, immutable';
    app.get(path, (c) => c.body(asset.body.slice(), 200, { 'Content-Type': asset.type, 'Cache-Control': cache }));
  }
  return app;
}
