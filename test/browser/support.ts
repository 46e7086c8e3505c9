import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { LIMITS_OFF } from '../../src/config.ts';
import { freePort } from '../support/free-port.ts';
import { onPostgres, openTestDatabase } from '../support/harness.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Whether Chromium is installed; without it the browser tests are skipped with one line saying so (CI installs it). */
export function hasBrowser(): boolean {
  const found = existsSync(CHROMIUM);
  if (!found) console.warn(`browser tests skipped: no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`);
  return found;
}

/** Chromium's flags in every browser test: no sandbox or GPU in a container, and no reaching outside hosts (it tries to without the networking flags). */
export const BROWSER_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Debian's Chromium, headless, with BROWSER_FLAGS. */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--headless', ...BROWSER_FLAGS] });
}

export interface PageServer {
  url: string;
  /** Calls the API directly, as a script would (no browser involved). */
  api(method: string, path: string, json?: unknown): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

/**
 * The built server (dist/server.mjs, written by the run's global setup) as its own process on a
 * free port: on a fresh PGlite folder, or a fresh PostgreSQL database with TEST_DATABASE_URL.
 * Rate limits are off unless `env` sets them.
 */
export async function startPageServer(env: Record<string, string> = {}): Promise<PageServer> {
  let databaseUrl: string;
  let dropDatabase = () => Promise.resolve();
  let dir: string | undefined;
  if (onPostgres()) {
    const testDb = await openTestDatabase();
    databaseUrl = testDb.url ?? '';
    dropDatabase = () => testDb.close();
  } else {
    dir = mkdtempSync(join(tmpdir(), 'projects-api-web-'));
    databaseUrl = `pglite://${dir}`;
  }
  const port = await freePort();
  const proc: ChildProcess = spawn(process.execPath, [join(ROOT, 'dist/server.mjs')], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      LOG_LEVEL: 'warn',
      // Mail goes to files nobody reads unless a test points SMTP_URL at its own server.
      MAIL_DIR: join(tmpdir(), 'projects-api-test-mail'),
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      ...LIMITS_OFF,
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  proc.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => proc.on('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  // Ready when the page answers; the process may first have to create its database.
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited early: ${stderr}`);
    const res = await fetch(`${url}/health/ready`).catch(() => undefined);
    if (res?.status === 200) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    async api(method, path, json) {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: json === undefined ? {} : { 'content-type': 'application/json' },
        ...(json !== undefined && { body: JSON.stringify(json) }),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    async stop() {
      proc.kill('SIGTERM');
      await exited;
      await dropDatabase();
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

let sequence = 0;

/** A username nobody on this server has (each server has its own fresh database). */
export function freshName(prefix = 'user'): string {
  sequence += 1;
  return `${prefix}${sequence}${Math.floor(Math.random() * 1e4)}`;
}

/** A browsing context as a person with this language preference would have. */
export async function openPage(browser: Browser, server: PageServer, options: { locale?: string; width?: number } = {}) {
  const context: BrowserContext = await browser.newContext({
    locale: options.locale ?? 'ko-KR',
    viewport: { width: options.width ?? 1024, height: 800 },
    baseURL: server.url,
  });
  const page: Page = await context.newPage();
  return { context, page };
}

/** A user created through the API, then logged in through the page's own form. */
export async function signedIn(page: Page, server: PageServer, username = freshName()) {
  const password = 'password-123';
  const created = await server.api('POST', '/api/users', { username, email: `${username}@example.com`, nickname: username, password });
  if (created.status !== 201) throw new Error(`signup failed: ${JSON.stringify(created.body)}`);
  await page.goto('/#/login');
  await page.getByLabel(/^(아이디 또는 이메일|Username or email)$/).fill(username);
  await page.getByLabel(/^(비밀번호|Password)$/).fill(password);
  await page.getByRole('button', { name: /^(로그인|Log in)$/ }).click();
  await page.getByRole('heading', { level: 1, name: /^(프로젝트|Projects)$/ }).waitFor();
  return { username, password, id: created.body.data.id as string };
}
