import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Hono } from 'hono';
import type { AppEnv } from './app-deps.ts';

// Served from the installed package, not a CDN, so the reference works with no internet.
const ASSETS = {
  'swagger-ui.css': 'text/css; charset=utf-8',
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
} as const;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>projects-api reference</title>
<link rel="icon" href="/docs/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
<div id="ui"></div>
<script src="/docs/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script>
</body>
</html>`;

const INIT = `window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#ui' });`;

// The service's own mark: its point is the 409.
const FAVICON = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">
<rect width="32" height="32" rx="6" fill="#1f4e8c"/>
<text x="16" y="21" font-family="Arial, Helvetica, sans-serif" font-size="13" font-weight="700" text-anchor="middle" fill="#fff">409</text>
</svg>`;

/** `/docs`: an interactive reference for `/openapi.json`, with its assets bundled. */
export function docsRoutes() {
  const app = new Hono<AppEnv>();
  const assetDir = dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  const cache = new Map<string, Promise<Buffer>>();

  app.get('/docs', (c) => c.html(PAGE));
  app.get('/docs/init.js', (c) => c.body(INIT, 200, { 'Content-Type': 'text/javascript; charset=utf-8' }));
  app.get('/docs/favicon.svg', (c) => c.body(FAVICON, 200, { 'Content-Type': 'image/svg+xml', 'Cache-Control': 'public, max-age=86400' }));
  app.get('/docs/:asset{swagger-ui\\.css|swagger-ui-bundle\\.js}', async (c) => {
    const name = c.req.param('asset') as keyof typeof ASSETS;
    let content = cache.get(name);
    if (!content) {
      content = readFile(join(assetDir, name));
      cache.set(name, content);
    }
    return c.body(new Uint8Array(await content), 200, { 'Content-Type': ASSETS[name], 'Cache-Control': 'public, max-age=86400' });
  });
  return app;
}
