import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request as httpRequest } from 'node:http';
import { brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, type App } from '../src/app.ts';
import { loadConfig } from '../src/config.ts';
import { loadWebAssets } from '../src/http/web-page.ts';
import { createLogger } from '../src/logger.ts';
import { openTestDatabase, startTestApp, type TestDatabase } from './support/harness.ts';
import { startPageServer } from './browser/support.ts';

// The page the run's global setup built (npm run build's script) into dist/web.
const WEB_DIR = fileURLToPath(new URL('../dist/web', import.meta.url));

/** Bytes on the wire for a text asset a browser fetches with gzip. */
const gzipped = (file: string) => gzipSync(readFileSync(join(WEB_DIR, file)), { level: 9 }).length;

let testDb: TestDatabase;
let app: App;
let compressing: App;
beforeAll(async () => {
  testDb = await openTestDatabase();
  const config = loadConfig({ DATABASE_URL: 'pglite://memory' });
  const options = { db: testDb.database.db, config, logger: createLogger('silent') };
  app = createApp({ ...options, webAssets: loadWebAssets(WEB_DIR) });
  compressing = createApp({ ...options, webAssets: loadWebAssets(WEB_DIR, { compress: true }), compress: true });
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

const decoders: Record<string, (body: Buffer) => Buffer> = { br: brotliDecompressSync, gzip: gunzipSync };

/** The bytes on the wire, and what they decode to by their Content-Encoding. */
async function wire(res: Response): Promise<{ raw: Buffer; decoded: Buffer }> {
  const raw = Buffer.from(await res.arrayBuffer());
  const encoding = res.headers.get('content-encoding');
  return { raw, decoded: encoding === null ? raw : decoders[encoding]!(raw) };
}

describe('compression (the Node server)', () => {
  const bigFiles = () => readdirSync(WEB_DIR).filter((f) => readFileSync(join(WEB_DIR, f)).byteLength >= 1024);

  it('the page is sent in the best coding the client accepts, compressed once at start-up, with its length and Vary', async () => {
    expect(bigFiles().length).toBeGreaterThanOrEqual(2);
    const cases: [string | undefined, string | null][] = [
      ['gzip, deflate, br, zstd', 'br'],
      ['gzip', 'gzip'],
      ['br;q=0.5, gzip', 'gzip'],
      ['*', 'br'],
      ['identity', null],
      ['gzip;q=0, br;q=0', null],
      [undefined, null],
    ];
    for (const file of bigFiles()) {
      const path = file === 'index.html' ? '/' : `/assets/${file}`;
      const original = readFileSync(join(WEB_DIR, file));
      for (const [accept, expected] of cases) {
        const res = await compressing.request(path, { headers: accept === undefined ? {} : { 'accept-encoding': accept } });
        const { raw, decoded } = await wire(res);
        expect({ path, accept, status: res.status, encoding: res.headers.get('content-encoding'), vary: res.headers.get('vary') }).toEqual({
          path,
          accept,
          status: 200,
          encoding: expected,
          vary: 'Accept-Encoding',
        });
        expect(res.headers.get('content-length')).toBe(String(raw.byteLength));
        expect(decoded.equals(original), `${path} ${accept}`).toBe(true);
        if (expected !== null) expect(raw.byteLength).toBeLessThan(original.byteLength / 2);
      }
    }
  });

  it('HEAD answers the headers GET would, compressed length included, with no body', async () => {
    const path = `/assets/${readdirSync(WEB_DIR).find((f) => f.endsWith('.js'))}`;
    const headers = { 'accept-encoding': 'br' };
    const get = await compressing.request(path, { headers });
    const head = await compressing.request(path, { method: 'HEAD', headers });
    expect(head.status).toBe(200);
    for (const name of ['content-encoding', 'content-length', 'vary', 'content-type', 'cache-control']) {
      expect(head.headers.get(name), name).toBe(get.headers.get(name));
    }
    expect(await head.text()).toBe('');
  });

  it('JSON of 1 KiB or more is compressed as it is sent; a smaller body and a 204 go as they are', async () => {
    const plain = await compressing.request('/openapi.json');
    const text = await plain.text();
    expect(plain.headers.get('content-encoding')).toBeNull();
    expect(plain.headers.get('vary')).toBe('Accept-Encoding');
    for (const encoding of ['br', 'gzip']) {
      const res = await compressing.request('/openapi.json', { headers: { 'accept-encoding': encoding } });
      const { raw, decoded } = await wire(res);
      expect(res.headers.get('content-encoding')).toBe(encoding);
      expect(res.headers.get('vary')).toBe('Accept-Encoding');
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(res.headers.get('content-length')).toBe(String(raw.byteLength));
      // The answer rebuilt around the compressed body keeps every header the app set.
      expect(res.headers.get('content-security-policy')).toBe(plain.headers.get('content-security-policy'));
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('x-request-id')).toEqual(expect.any(String));
      expect(decoded.toString('utf8')).toBe(text);
      expect(raw.byteLength).toBeLessThan(text.length / 4);
    }
    const small = await compressing.request('/health/live', { headers: { 'accept-encoding': 'br, gzip' } });
    expect(small.status).toBe(200);
    expect(small.headers.get('content-encoding')).toBeNull();
    expect(small.headers.get('vary')).toBeNull();
    const nobody = await compressing.request('/api/sessions/current', { headers: { 'accept-encoding': 'br, gzip' } });
    expect(nobody.status).toBe(204);
    expect(nobody.headers.get('content-encoding')).toBeNull();
  });

  it("a project's ETag stays its version through compression, so If-Match still matches", async () => {
    const t = await startTestApp({}, {}, { compress: true });
    try {
      const { token } = await t.newUser();
      const created = await t.createProject(token, 'big', 'x'.repeat(2000));
      const res = await t.app.request(`/api/projects/${created.id}`, {
        headers: { authorization: `Bearer ${token}`, 'accept-encoding': 'gzip' },
      });
      expect(res.headers.get('content-encoding')).toBe('gzip');
      expect(res.headers.get('etag')).toBe('"1"');
      expect(JSON.parse((await wire(res)).decoded.toString('utf8')).data.description).toBe('x'.repeat(2000));
      const patched = await t.request('PATCH', `/api/projects/${created.id}`, {
        token,
        headers: { 'if-match': '"1"' },
        json: { title: 'bigger' },
      });
      expect(patched.status).toBe(200);
    } finally {
      await t.close();
    }
  });

  it('an app not told to compress (the Lambda entry) sends every body as it is', async () => {
    for (const path of ['/openapi.json', `/assets/${readdirSync(WEB_DIR).find((f) => f.endsWith('.js'))}`]) {
      const res = await app.request(path, { headers: { 'accept-encoding': 'br, gzip' } });
      expect(res.headers.get('content-encoding'), path).toBeNull();
      expect(res.headers.get('vary'), path).toBeNull();
    }
  });

  it(
    'the built server compresses on the wire: Content-Length is the compressed size and the bytes decode to the file',
    { timeout: 60_000 },
    async () => {
      const server = await startPageServer();
      try {
        const file = readdirSync(WEB_DIR).find((f) => f.endsWith('.js'))!;
        for (const method of ['GET', 'HEAD']) {
          const res = await new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>(
            (resolve, reject) => {
              const req = httpRequest(
                `${server.url}/assets/${file}`,
                { method, headers: { 'accept-encoding': 'gzip, deflate, br' } },
                (r) => {
                  const chunks: Buffer[] = [];
                  r.on('data', (chunk: Buffer) => chunks.push(chunk));
                  r.on('end', () => resolve({ status: r.statusCode ?? 0, headers: r.headers, body: Buffer.concat(chunks) }));
                },
              );
              req.on('error', reject);
              req.end();
            },
          );
          expect(res.status).toBe(200);
          expect(res.headers['content-encoding']).toBe('br');
          expect(res.headers.vary).toBe('Accept-Encoding');
          expect(res.headers['transfer-encoding']).toBeUndefined();
          const length = Number(res.headers['content-length']);
          expect(length).toBeLessThan(readFileSync(join(WEB_DIR, file)).byteLength / 2);
          if (method === 'GET') {
            expect(res.body.byteLength).toBe(length);
            expect(brotliDecompressSync(res.body).equals(readFileSync(join(WEB_DIR, file)))).toBe(true);
          } else {
            expect(res.body.byteLength).toBe(0);
          }
        }
      } finally {
        await server.stop();
      }
    },
  );
});
