import axe from 'axe-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshName, hasBrowser, launchBrowser, openPage, startPageServer, type PageServer } from './support.ts';

// The real server process and Debian's Chromium; elements are found by their label and role.

describe.skipIf(!hasBrowser())('the signup page in Chromium', () => {
  let server: PageServer;
  let browser: Browser;
  beforeAll(async () => {
    [server, browser] = await Promise.all([startPageServer(), launchBrowser()]);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  function form(page: Page) {
    return {
      username: page.getByLabel('아이디', { exact: true }),
      email: page.getByLabel('이메일', { exact: true }),
      nickname: page.getByLabel('닉네임', { exact: true }),
      password: page.getByLabel('비밀번호', { exact: true }),
      submit: page.getByRole('button', { name: '가입하기' }),
      /** The live status line under a field (its aria-describedby). */
      status: (id: string) => page.locator(`#signup-${id}-status`),
    };
  }

  async function apiSignUp(username: string) {
    const res = await server.api('POST', '/api/users', {
      username,
      email: `${username}@example.com`,
      nickname: 'n',
      password: 'password-123',
    });
    expect(res.status).toBe(201);
  }

  /** Counts the availability checks a page sends. */
  function countChecks(page: Page): { count: () => number } {
    let n = 0;
    page.on('request', (req) => {
      if (req.url().includes('/api/users/availability')) n += 1;
    });
    return { count: () => n };
  }

  describe('the page itself', () => {
    it('loads in at most 4 requests, all from this server, with a strict CSP and hashed, immutable assets', async () => {
      const { context, page } = await openPage(browser, server);
      const urls: string[] = [];
      page.on('request', (req) => urls.push(req.url()));
      const html = await page.goto('/');
      await form(page).username.waitFor();
      expect(urls.length).toBeLessThanOrEqual(4);
      expect(urls.every((u) => u.startsWith(server.url))).toBe(true);
      expect(html?.headers()['cache-control']).toBe('no-cache');
      const csp = html?.headers()['content-security-policy'] ?? '';
      expect(csp).toContain("default-src 'self'");
      expect(csp).not.toContain('unsafe-inline');
      const assets = urls.filter((u) => u.includes('/assets/'));
      // Ordered by extension: the hashes in the names sort either way from one build to the next.
      const byExtension = (u: string) => u.split('.').at(-1) ?? '';
      const paths = assets.map((u) => new URL(u).pathname);
      expect(paths.sort((a, b) => byExtension(a).localeCompare(byExtension(b)))).toEqual([
        expect.stringMatching(/^\/assets\/app-\w{8}\.css$/),
        expect.stringMatching(/^\/assets\/app-\w{8}\.js$/),
      ]);
      for (const asset of assets) {
        const res = await fetch(asset);
        expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
      }
      await context.close();
    });
  });

  describe('sign up', () => {
    it('checks the username and email while they are typed: taken, free, malformed', async () => {
      const taken = freshName('taken');
      await apiSignUp(taken);
      const { context, page } = await openPage(browser, server);
      await page.goto('/');
      const f = form(page);
      await f.username.fill(taken.toUpperCase());
      await expect.poll(() => f.status('username').textContent()).toBe('이미 쓰이고 있는 아이디입니다.');
      await expect.poll(() => f.username.getAttribute('aria-invalid')).toBe('true');
      await f.username.fill(freshName('free'));
      await expect.poll(() => f.status('username').textContent()).toBe('사용할 수 있습니다.');
      await f.username.fill('a');
      await expect.poll(() => f.status('username').textContent()).toBe('아이디는 3자 이상이어야 합니다.');
      await f.email.fill(`${taken}@EXAMPLE.com`);
      await expect.poll(() => f.status('email').textContent()).toBe('이미 다른 계정에 등록된 이메일입니다.');
      expect(await page.locator('#signup-username-status').getAttribute('aria-live')).toBe('polite');
      await context.close();
    });

    it('typing a 10-character name sends at most 3 checks, and the answer is for the last value', async () => {
      const { context, page } = await openPage(browser, server);
      await page.goto('/');
      const checks = countChecks(page);
      const f = form(page);
      const name = `typed${Math.floor(Math.random() * 1e5)}`.padEnd(10, '0').slice(0, 10);
      await f.username.pressSequentially(name, { delay: 40 });
      await expect.poll(() => f.status('username').textContent()).toBe('사용할 수 있습니다.');
      expect(checks.count()).toBeGreaterThanOrEqual(1);
      expect(checks.count()).toBeLessThanOrEqual(3);
      await context.close();
    });

    it('offers free alternatives to a taken name; clicking one goes through signup', async () => {
      const taken = freshName('minji');
      await apiSignUp(taken);
      const { context, page } = await openPage(browser, server);
      await page.goto('/');
      const f = form(page);
      await f.username.fill(taken);
      const choices = page.getByRole('group', { name: '사용할 수 있는 아이디' }).getByRole('button');
      await expect.poll(() => choices.count()).toBe(3);
      const picked = await choices.first().textContent();
      expect(picked).toBe(`${taken}2`);
      await choices.first().click();
      expect(await f.username.inputValue()).toBe(picked);
      await expect.poll(() => f.status('username').textContent()).toBe('사용할 수 있습니다.');
      await f.email.fill(`${picked}@example.com`);
      await f.nickname.fill('민지');
      await f.password.fill('password-123');
      await f.submit.click();
      await page.getByRole('heading', { level: 1, name: '프로젝트' }).waitFor();
      expect((await server.api('GET', `/api/users/availability?username=${picked}`)).status).toBe(409);
      await context.close();
    });

    it('the race on submit: two people sign up one new name at once; one gets in, the other sees the 409 with their values kept', async () => {
      const name = freshName('race');
      const people = await Promise.all([openPage(browser, server), openPage(browser, server)]);
      for (const [i, { page }] of people.entries()) {
        await page.goto('/');
        const f = form(page);
        await f.username.fill(name);
        await f.email.fill(`${name}.${i}@example.com`);
        await f.nickname.fill(`사람${i}`);
        await f.password.fill(`password-${i}-xyz`);
        // Both were told the name is free.
        await expect.poll(() => f.status('username').textContent()).toBe('사용할 수 있습니다.');
      }
      await Promise.all(people.map(({ page }) => form(page).submit.click()));
      const outcomes = await Promise.all(
        people.map(({ page }) =>
          Promise.race([
            page
              .getByRole('heading', { level: 1, name: '프로젝트' })
              .waitFor()
              .then(() => 'in' as const),
            page
              .locator('#signup-username-status', { hasText: '이미 쓰이고 있는 아이디입니다.' })
              .waitFor()
              .then(() => 'conflict' as const),
          ]),
        ),
      );
      expect([...outcomes].sort()).toEqual(['conflict', 'in']);
      const loser = people[outcomes.indexOf('conflict')]!.page;
      const i = outcomes.indexOf('conflict');
      const f = form(loser);
      expect(await f.username.inputValue()).toBe(name);
      expect(await f.email.inputValue()).toBe(`${name}.${i}@example.com`);
      expect(await f.nickname.inputValue()).toBe(`사람${i}`);
      expect(await f.password.inputValue()).toBe(`password-${i}-xyz`);
      expect(await f.username.getAttribute('aria-invalid')).toBe('true');
      await Promise.all(people.map(({ context }) => context.close()));
    });

    it('shows the password rules before they are failed, and a 400 from submit on its field', async () => {
      const { context, page } = await openPage(browser, server);
      await page.goto('/');
      const f = form(page);
      expect(await page.locator('#signup-password-hint').textContent()).toBe('8자 이상 128자 이하, 어떤 문자든 쓸 수 있습니다.');
      expect(await f.password.getAttribute('aria-describedby')).toContain('signup-password-hint');
      await f.username.fill(freshName('short'));
      await f.email.fill(`${freshName()}@example.com`);
      await f.nickname.fill('n');
      await f.password.fill('short');
      await f.submit.click();
      await expect.poll(() => f.status('password').textContent()).toBe('비밀번호는 8자 이상이어야 합니다.');
      await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('signup-password');
      await context.close();
    });

    it('keyboard only: Tab through the fields, type, Enter; focus lands on the projects heading', async () => {
      const { context, page } = await openPage(browser, server);
      await page.goto('/');
      await form(page).username.waitFor();
      const name = freshName('keys');
      // The page focuses its heading once it has rendered; a Tab before that would be undone.
      await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('signup-title');
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => document.activeElement?.id)).toBe('signup-username');
      await page.keyboard.type(name);
      await page.keyboard.press('Tab');
      await page.keyboard.type(`${name}@example.com`);
      await page.keyboard.press('Tab');
      await page.keyboard.type('키보드');
      await page.keyboard.press('Tab');
      await page.keyboard.type('password-123');
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { level: 1, name: '프로젝트' }).waitFor();
      expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('프로젝트');
      await context.close();
    });
  });

  describe('languages', () => {
    it('English when the browser asks for it, with the API speaking English too; the switch turns both to Korean', async () => {
      const taken = freshName('lang');
      await apiSignUp(taken);
      const { context, page } = await openPage(browser, server, { locale: 'en-US' });
      await page.goto('/');
      await page.getByRole('heading', { level: 1, name: 'Sign up' }).waitFor();
      expect(await page.evaluate(() => document.documentElement.lang)).toBe('en');
      await page.getByLabel('Username', { exact: true }).fill(taken);
      await expect.poll(() => page.locator('#signup-username-status').textContent()).toBe('This username is taken.');
      await page.getByRole('button', { name: '한국어 보기' }).click();
      await page.getByRole('heading', { level: 1, name: '회원가입' }).waitFor();
      expect(await page.evaluate(() => document.documentElement.lang)).toBe('ko');
      // The typed value survives the switch; the next answer comes in Korean.
      expect(await form(page).username.inputValue()).toBe(taken);
      await form(page).username.fill(taken.toUpperCase());
      await expect.poll(() => form(page).status('username').textContent()).toBe('이미 쓰이고 있는 아이디입니다.');
      await context.close();
    });

    it('Korean by default, for a browser asking for neither', async () => {
      const { context, page } = await openPage(browser, server, { locale: 'fr-FR' });
      await page.goto('/');
      await page.getByRole('heading', { level: 1, name: '회원가입' }).waitFor();
      await page.getByRole('button', { name: 'Switch to English' }).waitFor();
      await context.close();
    });
  });

  describe('access and small screens', () => {
    it('a taken name on a 360 px phone: nothing overflows, axe finds no serious or critical violation', async () => {
      const taken = 'minji';
      await apiSignUp(taken);
      // axe is injected as a script, which the page's own CSP rightly forbids; only this context bypasses it.
      const context = await browser.newContext({
        locale: 'ko-KR',
        viewport: { width: 360, height: 780 },
        baseURL: server.url,
        bypassCSP: true,
      });
      const page = await context.newPage();
      await page.goto('/');
      const f = form(page);
      await f.username.fill(taken);
      await f.email.fill('minji@example.com');
      await f.nickname.fill('민지');
      await expect.poll(() => page.getByRole('group', { name: '사용할 수 있는 아이디' }).getByRole('button').count()).toBe(3);
      await f.password.fill('pass');
      await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
      await page.addScriptTag({ content: axe.source });
      const violations = await page.evaluate(async () => {
        const result = await (window as any).axe.run(document);
        return result.violations.map((v: any) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n: any) => n.target) }));
      });
      expect(violations.filter((v: any) => v.impact === 'serious' || v.impact === 'critical')).toEqual([]);
      await context.close();
    });
  });

  describe('when the availability limit is reached', () => {
    let limited: PageServer;
    beforeAll(async () => {
      limited = await startPageServer({ RATE_LIMIT_AVAILABILITY_PER_MINUTE: '2' });
    }, 60_000);
    afterAll(() => limited?.stop());

    it('live checks stop, the page says submitting decides, and signup still works', async () => {
      const context = await browser.newContext({ locale: 'ko-KR', baseURL: limited.url });
      const page = await context.newPage();
      const checks = countChecks(page);
      await page.goto('/');
      const f = form(page);
      const name = freshName('lim');
      await f.username.fill(`${name}x`);
      await expect.poll(() => f.status('username').textContent()).toBe('사용할 수 있습니다.');
      await f.email.fill(`${name}@example.com`);
      await expect.poll(() => f.status('email').textContent()).toBe('사용할 수 있습니다.');
      await f.username.fill(name);
      const note = page.getByText('확인 요청이 너무 많아 실시간 확인을 잠시 멈췄습니다. 가입하면 서버가 결정합니다.');
      await note.waitFor();
      expect(checks.count()).toBe(3);
      await f.email.fill(`${name}.2@example.com`);
      await f.nickname.fill('제한');
      await f.password.fill('password-123');
      expect(await f.submit.isEnabled()).toBe(true);
      await f.submit.click();
      await page.getByRole('heading', { level: 1, name: '프로젝트' }).waitFor();
      // Paused: nothing typed after the 429 was checked.
      expect(checks.count()).toBe(3);
      await context.close();
    });
  });
});
