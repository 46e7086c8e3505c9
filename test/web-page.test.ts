import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { loadWebAssets } from '../src/http/web-page.ts';
import { createLogger } from '../src/logger.ts';
import { openTestDatabase, type TestDatabase } from './support/harness.ts';

// The page the run's global setup built (npm run build's script) into dist/web.
const WEB_DIR = fileURLToPath(new URL('../dist/web', import.meta.url));

/** Bytes on the wire for a text asset a browser fetches with gzip. */
const gzipped = (file: string) => gzipSync(readFileSync(join(WEB_DIR, file)), { level: 9 }).length;

let testDb: TestDatabase;
let app: App;
beforeAll(async () => {
  testDb = await openTestDatabase();
  const config = loadConfig({ DATABASE_URL: 'pglite://memory' });
  app = createApp({ db: testDb.database.db, config, logger: createLogger('silent'), webAssets: loadWebAssets(WEB_DIR) });
});
afterAll(() => testDb.close());

describe('the built page', () => {
  const files = () => readdirSync(WEB_DIR);

  it('is one hashed script, one hashed stylesheet and index.html naming them', () => {
    const script = files().filter((f) => /^app-\w{8}\.js$/.test(f));
    const style = files().filter((f) => /^app-\w{8}\.css$/.test(f));
    expect(script).toHaveLength(1);
    expect(style).toHaveLength(1);
    const html = readFileSync(join(WEB_DIR, 'index.html'), 'utf8');
    expect(html).toContain(`<script type="module" src="/assets/${script[0]}"></script>`);
    expect(html).toContain(`<link rel="stylesheet" href="/assets/${style[0]}" />`);
    // No favicon request: the icon is an empty data: URL, which the CSP's img-src allows.
    expect(html).toContain('<link rel="icon" href="data:," />');
    // Nothing inline for the CSP to block: the only script is the external one, and no style attribute.
    expect(html.match(/<script/g)).toHaveLength(1);
    expect(html).not.toMatch(/<style|style="/);
  });

  it('stays within budget: at most 40 KB of JS and 10 KB of CSS, gzipped', () => {
    const js = files().filter((f) => f.endsWith('.js'));
    const css = files().filter((f) => f.endsWith('.css'));
    const total = (list: string[]) => list.reduce((sum, f) => sum + gzipped(f), 0);
    expect(total(js)).toBeLessThanOrEqual(40 * 1024);
    expect(total(css)).toBeLessThanOrEqual(10 * 1024);
  });
});

describe('GET / and /assets/*', () => {
  it('the HTML is no-cache under the page CSP; the API keeps its own', async () => {
    const res = await app.request('/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(res.headers.get('cache-control')).toBe('no-cache');
    expect(res.headers.get('content-security-policy')).toBe(
      "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    expect(await res.text()).toBe(readFileSync(join(WEB_DIR, 'index.html'), 'utf8'));
    const api = await app.request('/api/users/me');
    expect(api.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
  });

  it('assets are immutable for a year, with their type; an unknown one is the API 404', async () => {
    for (const file of readdirSync(WEB_DIR).filter((f) => f !== 'index.html')) {
      const res = await app.request(`/assets/${file}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      expect(res.headers.get('content-type')).toBe(file.endsWith('.js') ? 'text/javascript; charset=utf-8' : 'text/css; charset=utf-8');
      expect(Buffer.from(await res.arrayBuffer()).equals(readFileSync(join(WEB_DIR, file)))).toBe(true);
    }
    const missing = await app.request('/assets/app-00000000.js');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 'NOT_FOUND_RESOURCE' });
  });

  it('an app given no page serves none', async () => {
    const bare = createApp({
      db: testDb.database.db,
      config: loadConfig({ DATABASE_URL: 'pglite://memory' }),
      logger: createLogger('silent'),
    });
    expect((await bare.request('/')).status).toBe(404);
  });
});
