import axe from 'axe-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshName, hasBrowser, launchBrowser, openPage, signedIn, startPageServer, type PageServer } from './support.ts';

describe.skipIf(!hasBrowser())('the projects and account pages in Chromium', () => {
  let server: PageServer;
  let browser: Browser;
  beforeAll(async () => {
    [server, browser] = await Promise.all([startPageServer(), launchBrowser()]);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  /** Calls the API with the context's session cookie, as the page would. */
  async function call(context: BrowserContext, method: string, path: string, data?: unknown) {
    const res = await context.request.fetch(`${server.url}${path}`, { method, ...(data !== undefined && { data }) });
    return { status: res.status(), body: res.status() === 204 ? undefined : await res.json() };
  }

  function createForm(page: Page) {
    return {
      title: page.getByLabel('제목', { exact: true }),
      submit: page.getByRole('button', { name: '만들기' }),
      status: page.locator('#project-title-status'),
    };
  }

  async function create(page: Page, title: string) {
    const f = createForm(page);
    await f.title.fill(title);
    await f.submit.click();
    await page.getByRole('link', { name: title.trim(), exact: true }).first().waitFor();
  }

  async function openProject(page: Page, id: string) {
    await page.goto(`/#/projects/${id}`);
    await page.getByRole('form', { name: '프로젝트 수정' }).waitFor();
  }

  describe('projects', () => {
    it('a duplicate title shows the page text and a link to the existing project', async () => {
      const context = await browser.newContext({
        locale: 'ko-KR',
        viewport: { width: 1024, height: 760 },
        baseURL: server.url,
        bypassCSP: true,
      });
      const page = await context.newPage();
      await signedIn(page, server, 'minji');
      await create(page, 'Alpha');
      await create(page, '베타 릴리스');
      const f = createForm(page);
      await f.title.fill(' ALPHA ');
      await f.submit.click();
      await expect.poll(() => f.status.textContent()).toBe('이 제목은 이미 다른 프로젝트가 쓰고 있습니다.');
      expect(await f.title.inputValue()).toBe(' ALPHA ');
      const link = page.getByRole('link', { name: '같은 제목의 기존 프로젝트 열기' });
      const alpha = (await call(context, 'GET', '/api/projects')).body.data.find((p: any) => p.title === 'Alpha');
      expect(await link.getAttribute('href')).toBe(`#/projects/${alpha.id}`);
      await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
      await page.addScriptTag({ content: axe.source });
      const violations = await page.evaluate(async () => {
        const result = await (window as any).axe.run(document);
        return result.violations.map((v: any) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n: any) => n.target) }));
      });
      expect(violations.filter((v: any) => v.impact === 'serious' || v.impact === 'critical')).toEqual([]);
      await link.click();
      await page.getByRole('heading', { level: 1, name: 'Alpha' }).waitFor();
      // Still exactly one live "Alpha".
      expect((await call(context, 'GET', '/api/projects')).body.data.map((p: any) => p.title).sort()).toEqual(['Alpha', '베타 릴리스']);
      await context.close();
    });

    it('lists newest first, loads more by cursor, and filters live / deleted / all', async () => {
      const { context, page } = await openPage(browser, server);
      await signedIn(page, server);
      for (let i = 1; i <= 12; i++) expect((await call(context, 'POST', '/api/projects', { title: `P${i}` })).status).toBe(201);
      const gone = (await call(context, 'POST', '/api/projects', { title: 'Gone' })).body.data;
      expect((await call(context, 'DELETE', `/api/projects/${gone.id}`)).status).toBe(204);
      await page.reload();
      const items = page.getByRole('list').last().getByRole('listitem');
      await expect.poll(() => items.count()).toBe(10);
      expect(await items.first().getByRole('link').textContent()).toBe('P12');
      await page.getByRole('button', { name: '더 보기' }).click();
      await expect.poll(() => items.count()).toBe(12);
      expect(await items.last().getByRole('link').textContent()).toBe('P1');
      await page.getByLabel('보기').selectOption({ label: '삭제됨' });
      await expect.poll(() => items.count()).toBe(1);
      expect(await items.first().textContent()).toContain('Gone');
      await page.getByLabel('보기').selectOption({ label: '전체' });
      await expect.poll(() => items.first().textContent()).toContain('Gone');
      await context.close();
    });

    it('conflicting edits in two tabs: the second save is a 412 offering reload or overwrite', async () => {
      const { context, page: first } = await openPage(browser, server);
      await signedIn(first, server);
      const project = (await call(context, 'POST', '/api/projects', { title: 'Shared', description: 'v1' })).body.data;
      const second = await context.newPage();
      await openProject(first, project.id);
      await openProject(second, project.id);

      await first.getByLabel('설명').fill('from the first tab');
      await first.getByRole('button', { name: '저장' }).click();
      await first.getByText('저장했습니다.').waitFor();

      await second.getByLabel('제목', { exact: true }).fill('Shared (second)');
      await second.getByRole('button', { name: '저장' }).click();
      const alert = second.getByRole('alert').filter({ hasText: '다른 곳에서 이 프로젝트를 먼저 수정했으니' });
      await alert.waitFor();
      expect(await alert.locator('p').first().textContent()).toBe(
        '다른 곳에서 이 프로젝트를 먼저 수정했으니, 그쪽 내용을 불러오거나 내 내용으로 덮어쓰세요.',
      );
      // Nothing of the second tab's was written.
      expect((await call(context, 'GET', `/api/projects/${project.id}`)).body.data).toMatchObject({
        title: 'Shared',
        description: 'from the first tab',
        version: 2,
      });

      await alert.getByRole('button', { name: '내 내용으로 덮어쓰기' }).click();
      await second.getByText('저장했습니다.').waitFor();
      expect((await call(context, 'GET', `/api/projects/${project.id}`)).body.data).toMatchObject({
        title: 'Shared (second)',
        description: 'v1',
        version: 3,
      });

      // The first tab is now behind; it reloads instead.
      await first.getByLabel('설명').fill('stale edit');
      await first.getByRole('button', { name: '저장' }).click();
      await first.getByRole('button', { name: '최신 내용 불러오기' }).click();
      await first.getByRole('heading', { level: 1, name: 'Shared (second)' }).waitFor();
      expect(await first.getByLabel('설명').inputValue()).toBe('v1');
      expect((await call(context, 'GET', `/api/projects/${project.id}`)).body.data.version).toBe(3);
      await context.close();
    });

    it('delete with undo restores the project', async () => {
      const { context, page } = await openPage(browser, server);
      await signedIn(page, server);
      const project = (await call(context, 'POST', '/api/projects', { title: 'Undo me' })).body.data;
      await openProject(page, project.id);
      await page.getByRole('button', { name: '삭제' }).click();
      await page.getByText('프로젝트를 삭제했습니다.').waitFor();
      expect((await call(context, 'GET', `/api/projects/${project.id}`)).body.data.deletedAt).not.toBeNull();
      await page.getByRole('button', { name: '실행 취소' }).click();
      await page.getByRole('form', { name: '프로젝트 수정' }).waitFor();
      expect((await call(context, 'GET', `/api/projects/${project.id}`)).body.data.deletedAt).toBeNull();
      await context.close();
    });

    it('restoring onto a title a live project now holds names it and offers to rename it; then the restore goes through', async () => {
      const { context, page } = await openPage(browser, server);
      await signedIn(page, server);
      const old = (await call(context, 'POST', '/api/projects', { title: 'Beta' })).body.data;
      await call(context, 'DELETE', `/api/projects/${old.id}`);
      const live = (await call(context, 'POST', '/api/projects', { title: 'BETA' })).body.data;
      await page.reload();
      await page.getByLabel('보기').selectOption({ label: '삭제됨' });
      await page.getByRole('button', { name: '복원' }).click();
      await page.getByRole('alert').filter({ hasText: '지금 이 제목은 사용 중인 다른 프로젝트가 쓰고 있습니다.' }).waitFor();
      const rename = page.getByRole('link', { name: '사용 중인 프로젝트 열어 이름 바꾸기' });
      expect(await rename.getAttribute('href')).toBe(`#/projects/${live.id}`);
      await rename.click();
      await page.getByRole('heading', { level: 1, name: 'BETA' }).waitFor();
      await page.getByLabel('제목', { exact: true }).fill('Beta 2');
      await page.getByRole('button', { name: '저장' }).click();
      await page.getByText('저장했습니다.').waitFor();
      await page.getByRole('link', { name: '← 프로젝트 목록' }).click();
      await page.getByLabel('보기').selectOption({ label: '삭제됨' });
      await page.getByRole('button', { name: '복원' }).click();
      await expect.poll(async () => (await call(context, 'GET', `/api/projects/${old.id}`)).body.data.deletedAt).toBeNull();
      await context.close();
    });
  });

  describe('account', () => {
    it('a taken username is a 409 on the field with suggestions; the password change needs the current one; delete asks first', async () => {
      const other = freshName('other');
      await server.api('POST', '/api/users', { username: other, email: `${other}@example.com`, nickname: 'o', password: 'password-123' });
      const { context, page } = await openPage(browser, server);
      const me = await signedIn(page, server);
      await page.getByRole('link', { name: '계정' }).click();
      await page.getByLabel('아이디', { exact: true }).fill(other);
      await page.getByRole('button', { name: '변경 저장' }).click();
      await expect.poll(() => page.locator('#account-username-status').textContent()).toBe('이미 쓰이고 있는 아이디입니다.');
      await page.getByRole('group', { name: '사용할 수 있는 아이디' }).getByRole('button').first().click();
      await page.getByRole('button', { name: '변경 저장' }).click();
      await page.getByText('저장했습니다.').waitFor();
      expect((await call(context, 'GET', '/api/users/me')).body.data.username).toBe(`${other}2`);

      await page.getByLabel('현재 비밀번호').fill('wrong-password');
      await page.getByLabel('새 비밀번호').fill('new-password-456');
      await page.getByRole('button', { name: '비밀번호 변경' }).click();
      await expect.poll(() => page.locator('#account-current-password-status').textContent()).toBe('현재 비밀번호가 맞지 않습니다.');
      await page.getByLabel('현재 비밀번호').fill(me.password);
      await page.getByRole('button', { name: '비밀번호 변경' }).click();
      await page.getByText('비밀번호를 변경했습니다.').waitFor();

      await page.getByRole('button', { name: '계정 삭제' }).click();
      const confirm = page.getByRole('alertdialog');
      await confirm.getByRole('button', { name: '취소' }).click();
      expect((await call(context, 'GET', '/api/users/me')).status).toBe(200);
      await page.getByRole('button', { name: '계정 삭제' }).click();
      await confirm.getByRole('button', { name: '영구 삭제' }).click();
      await page.getByRole('heading', { level: 1, name: '로그인' }).waitFor();
      const held = await server.api('GET', `/api/users/availability?username=${other}2`);
      expect(held.status).toBe(409);
      expect(held.body.code).toBe('USERNAME_HELD');
      await context.close();
    });

    it('log out ends the session; no token is kept in storage', async () => {
      const { context, page } = await openPage(browser, server);
      await signedIn(page, server);
      const stored = await page.evaluate(() =>
        [localStorage, sessionStorage].flatMap((store) =>
          Array.from({ length: store.length }, (_, i) => `${store.key(i)}=${store.getItem(store.key(i) ?? '')}`),
        ),
      );
      // Only the language choice, if any.
      expect(stored.filter((entry) => !/^lang=(ko|en)$/.test(entry))).toEqual([]);
      expect(await page.evaluate(() => document.cookie)).toBe('');
      await page.getByRole('button', { name: '로그아웃' }).click();
      await page.getByRole('heading', { level: 1, name: '로그인' }).waitFor();
      expect((await call(context, 'GET', '/api/users/me')).status).toBe(401);
      await context.close();
    });
  });
});
