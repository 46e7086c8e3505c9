import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERRORS } from '../../src/errors/codes.ts';
import { FIELD_ISSUE_TEXTS } from '../../src/errors/messages.ts';
import { ERROR_TEXTS, errorText, fieldErrorText, type Lang } from '../../web/i18n.ts';
import { freshName, hasBrowser, launchBrowser, openPage, signedIn, startPageServer, type PageServer } from './support.ts';

// The page's own words for failures: by code and field, in one language at a time.

const LANGS: Lang[] = ['ko', 'en'];
const FIELDS = ['username', 'email', 'nickname', 'password', 'currentPassword', 'title', 'description'];

describe('the page texts for errors', () => {
  it('has a text in both languages for every code the API answers with and every field issue', () => {
    for (const lang of LANGS) {
      expect(Object.keys(ERRORS).filter((code) => !ERROR_TEXTS[lang].codes[code])).toEqual([]);
      expect(Object.keys(FIELD_ISSUE_TEXTS).filter((code) => !ERROR_TEXTS[lang].issues[code])).toEqual([]);
    }
  });

  it('names fields in Korean in Korean texts, with the particle that fits, and never shows an HTTP reason', () => {
    for (const code of Object.keys(FIELD_ISSUE_TEXTS)) {
      for (const field of FIELDS) {
        const text = fieldErrorText('ko', { code: 'VALIDATION_FAILED', message: 'x', errors: [{ field, code, message: 'x' }] }, field);
        expect(text, `${field}.${code}`).not.toMatch(/[A-Za-z]{3,}|\{|\[/);
      }
    }
    const issue = (field: string, code: string) => ({ code: 'VALIDATION_FAILED', message: 'x', errors: [{ field, code, message: 'x' }] });
    expect(fieldErrorText('ko', issue('password', 'required'), 'password')).toBe('비밀번호를 입력하세요.');
    expect(fieldErrorText('ko', issue('email', 'required'), 'email')).toBe('이메일을 입력하세요.');
    expect(fieldErrorText('ko', issue('username', 'too_long'), 'username')).toBe('아이디는 30자까지 쓸 수 있습니다.');
    expect(fieldErrorText('ko', issue('title', 'too_long'), 'title')).toBe('제목은 100자까지 쓸 수 있습니다.');
    expect(fieldErrorText('en', issue('currentPassword', 'required'), 'currentPassword')).toBe('Current password is required.');
    expect(fieldErrorText('en', issue('username', 'reserved'), 'username')).toBe('This username is reserved.');
  });

  it('answers a held username on its field, and falls back to the API message, without its reason, only for a code it does not know', () => {
    const held = { code: 'USERNAME_HELD', message: '[Conflict] whatever', field: 'username', suggestions: ['alice2'] };
    expect(fieldErrorText('ko', held, 'username')).toBe('최근까지 쓰이던 아이디라 아직 쓸 수 없습니다.');
    expect(fieldErrorText('en', held, 'username')).toBe("This username was in use recently and can't be taken yet.");
    expect(fieldErrorText('en', held, 'email')).toBeUndefined();
    expect(errorText('ko', { code: 'SOMETHING_NEW', message: '[I’m a Teapot] 새로운 실패입니다.' })).toBe('새로운 실패입니다.');
    expect(errorText('en', { code: 'DUPLICATE_RESOURCE', message: '[Conflict] x', field: 'title' })).toBe(
      'Another project already has this title.',
    );
  });
});

describe.skipIf(!hasBrowser())('errors on the page in Chromium', () => {
  let server: PageServer;
  let browser: Browser;
  beforeAll(async () => {
    [server, browser] = await Promise.all([startPageServer(), launchBrowser()]);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  async function call(context: BrowserContext, method: string, path: string, data?: unknown) {
    const res = await context.request.fetch(`${server.url}${path}`, { method, ...(data !== undefined && { data }) });
    return { status: res.status(), body: res.status() === 204 ? undefined : await res.json() };
  }

  /** Revokes the context's session behind the page's back: the browser keeps its now dead cookie. */
  async function endSession(context: BrowserContext) {
    const cookie = (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ');
    const res = await fetch(`${server.url}/api/sessions/current`, { method: 'DELETE', headers: { cookie } });
    expect(res.status).toBe(204);
    expect((await call(context, 'GET', '/api/users/me')).status).toBe(401);
  }

  async function switchLanguage(page: Page, to: Lang) {
    await page.getByRole('button', { name: to === 'en' ? 'Switch to English' : '한국어 보기' }).click();
    await expect.poll(() => page.evaluate(() => document.documentElement.lang)).toBe(to);
  }

  /** Everything the page shows: never an HTTP reason phrase, and in Korean never a field named in English. */
  async function mainText(page: Page) {
    const text = await page.locator('main').innerText();
    expect(text).not.toMatch(/\[[A-Z][A-Za-z ]+\]/);
    return text;
  }

  function status(page: Page, id: string) {
    return page.locator(`#${id}-status`);
  }

  async function describedBy(page: Page, id: string) {
    return (await page.locator(`#${id}`).getAttribute('aria-describedby'))?.split(' ');
  }

  it('signup: a 400 and a 409 on their fields in English; the switch re-renders them in Korean, naming fields as the labels do', async () => {
    const taken = freshName('taken');
    await server.api('POST', '/api/users', { username: taken, email: `${taken}@example.com`, nickname: 'n', password: 'password-123' });
    const { context, page } = await openPage(browser, server, { locale: 'en-US' });
    await page.goto('/');
    await page.getByLabel('Username', { exact: true }).fill(freshName('free'));
    await page.getByLabel('Email', { exact: true }).fill(`${taken}@example.com`);
    await page.getByLabel('Password', { exact: true }).fill('short');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await expect.poll(() => status(page, 'signup-password').textContent()).toBe('Password needs at least 8 characters.');
    expect(await status(page, 'signup-nickname').textContent()).toBe('Enter a nickname.');
    expect(await page.locator('#signup-nickname').getAttribute('aria-invalid')).toBe('true');
    await switchLanguage(page, 'ko');
    expect(await status(page, 'signup-password').textContent()).toBe('비밀번호는 8자 이상이어야 합니다.');
    expect(await status(page, 'signup-nickname').textContent()).toBe('닉네임을 입력하세요.');
    expect(await mainText(page)).not.toMatch(/username|password|email|nickname/i);

    await page.getByLabel('닉네임', { exact: true }).fill('민지');
    await page.getByLabel('비밀번호', { exact: true }).fill('password-123');
    await page.getByRole('button', { name: '가입하기' }).click();
    await expect.poll(() => status(page, 'signup-email').textContent()).toBe('이미 다른 계정에 등록된 이메일입니다.');
    expect(await page.locator('#signup-email').getAttribute('aria-invalid')).toBe('true');
    // Another person's account is not something to link to.
    expect(await page.locator('#signup-email-conflict').count()).toBe(0);
    expect(await page.getByRole('alert').filter({ hasText: /./ }).count()).toBe(0);
    await switchLanguage(page, 'en');
    expect(await status(page, 'signup-email').textContent()).toBe('This email belongs to another account.');
    await mainText(page);
    await context.close();
  });

  it('login: a wrong password in Korean, then in English after the switch', async () => {
    const { context, page } = await openPage(browser, server);
    await page.goto('/#/login');
    await page.getByLabel('아이디 또는 이메일').fill('nobody-here');
    await page.getByLabel('비밀번호', { exact: true }).fill('password-123');
    await page.getByRole('button', { name: '로그인', exact: true }).click();
    const alert = page.getByRole('alert').locator('p').first();
    await expect.poll(() => alert.textContent()).toBe('아이디(또는 이메일)나 비밀번호가 맞지 않습니다.');
    await switchLanguage(page, 'en');
    expect(await alert.textContent()).toBe('The username (or email) or the password is wrong.');
    await context.close();
  });

  it('projects: create and rename onto a taken title, and a restore onto one, answered on the field with a link, in both languages', async () => {
    const { context, page } = await openPage(browser, server, { locale: 'en-US' });
    await signedIn(page, server);
    const alpha = (await call(context, 'POST', '/api/projects', { title: 'Alpha' })).body.data;
    const beta = (await call(context, 'POST', '/api/projects', { title: 'Beta' })).body.data;
    await page.reload();

    await page.getByLabel('Title', { exact: true }).fill('alpha');
    await page.getByRole('button', { name: 'Create' }).click();
    await expect.poll(() => status(page, 'project-title').textContent()).toBe('Another project already has this title.');
    expect(await page.locator('#project-title').getAttribute('aria-invalid')).toBe('true');
    expect(await describedBy(page, 'project-title')).toEqual(['project-title-status', 'project-title-conflict']);
    const createLink = page.locator('#project-title-conflict').getByRole('link');
    expect(await createLink.textContent()).toBe('Open the existing project with this title');
    expect(await createLink.getAttribute('href')).toBe(`#/projects/${alpha.id}`);
    await switchLanguage(page, 'ko');
    expect(await status(page, 'project-title').textContent()).toBe('이 제목은 이미 다른 프로젝트가 쓰고 있습니다.');
    expect(await createLink.textContent()).toBe('같은 제목의 기존 프로젝트 열기');
    await mainText(page);

    await page.goto(`/#/projects/${beta.id}`);
    await page.getByRole('heading', { level: 1, name: 'Beta' }).waitFor();
    await page.getByLabel('제목', { exact: true }).fill('ALPHA');
    await page.getByRole('button', { name: '저장' }).click();
    await expect.poll(() => status(page, 'edit-title').textContent()).toBe('이 제목은 이미 다른 프로젝트가 쓰고 있습니다.');
    expect(await page.locator('#edit-title').getAttribute('aria-invalid')).toBe('true');
    expect(await describedBy(page, 'edit-title')).toEqual(['edit-title-status', 'edit-title-conflict']);
    const renameLink = page.locator('#edit-title-conflict').getByRole('link');
    expect(await renameLink.getAttribute('href')).toBe(`#/projects/${alpha.id}`);
    await switchLanguage(page, 'en');
    expect(await status(page, 'edit-title').textContent()).toBe('Another project already has this title.');
    expect(await renameLink.textContent()).toBe('Open the existing project with this title');
    expect((await call(context, 'GET', `/api/projects/${beta.id}`)).body.data.title).toBe('Beta');

    await call(context, 'DELETE', `/api/projects/${beta.id}`);
    await call(context, 'POST', '/api/projects', { title: 'BETA' });
    const live = (await call(context, 'GET', '/api/projects')).body.data.find((p: any) => p.title === 'BETA');
    await page.goto('/#/projects');
    await page.getByLabel('Show').selectOption({ label: 'Deleted' });
    await page.getByRole('button', { name: 'Restore' }).click();
    const held = page.locator(`#restore-${beta.id}-status`);
    await expect.poll(() => held.textContent()).toBe('A live project now holds this title. Rename that one, then restore this again.');
    const restoreLink = page.locator(`#restore-${beta.id}-status-conflict`).getByRole('link');
    expect(await restoreLink.textContent()).toBe('Open the live project to rename it');
    expect(await restoreLink.getAttribute('href')).toBe(`#/projects/${live.id}`);
    expect(await page.getByRole('button', { name: 'Restore' }).getAttribute('aria-describedby')).toBe(
      `restore-${beta.id}-status restore-${beta.id}-status-conflict`,
    );
    await switchLanguage(page, 'ko');
    expect(await held.textContent()).toBe(
      '지금 이 제목은 사용 중인 다른 프로젝트가 쓰고 있습니다. 그 프로젝트의 이름을 바꾼 뒤 다시 복원하세요.',
    );
    expect(await restoreLink.textContent()).toBe('사용 중인 프로젝트 열어 이름 바꾸기');
    await mainText(page);
    await context.close();
  });

  it('a 412 is said once, with its two choices, in either language', async () => {
    const { context, page } = await openPage(browser, server, { locale: 'en-US' });
    await signedIn(page, server);
    const project = (await call(context, 'POST', '/api/projects', { title: 'Shared' })).body.data;
    await page.goto(`/#/projects/${project.id}`);
    await page.getByRole('heading', { level: 1, name: 'Shared' }).waitFor();
    await call(context, 'PATCH', `/api/projects/${project.id}`, { description: 'elsewhere' });
    await page.getByLabel('Title', { exact: true }).fill('Mine');
    await page.getByRole('button', { name: 'Save' }).click();
    // Found by its place, not its words: the words change with the language.
    const alert = page
      .getByRole('form')
      .getByRole('alert')
      .filter({ has: page.getByRole('button') });
    await alert.waitFor();
    expect(await alert.locator('p').allTextContents()).toEqual([
      'Someone else changed this project first: reload their version, or overwrite it with yours.',
    ]);
    expect(await alert.getByRole('button').allTextContents()).toEqual(['Reload their version', 'Overwrite with mine']);
    await switchLanguage(page, 'ko');
    expect(await alert.locator('p').allTextContents()).toEqual([
      '다른 곳에서 이 프로젝트를 먼저 수정했으니, 그쪽 내용을 불러오거나 내 내용으로 덮어쓰세요.',
    ]);
    expect(await alert.getByRole('button').allTextContents()).toEqual(['최신 내용 불러오기', '내 내용으로 덮어쓰기']);
    await mainText(page);
    await context.close();
  });

  it('account: a taken username and a taken email on their fields, without a link to the other account, in both languages', async () => {
    const other = freshName('other');
    await server.api('POST', '/api/users', { username: other, email: `${other}@example.com`, nickname: 'o', password: 'password-123' });
    const { context, page } = await openPage(browser, server);
    const me = await signedIn(page, server);
    await page.goto('/#/account');
    await page.getByLabel('아이디', { exact: true }).fill(other);
    await page.getByRole('button', { name: '변경 저장' }).click();
    await expect.poll(() => status(page, 'account-username').textContent()).toBe('이미 쓰이고 있는 아이디입니다.');
    expect(await page.locator('#account-username').getAttribute('aria-invalid')).toBe('true');
    expect(await describedBy(page, 'account-username')).toEqual(['account-username-status']);
    await page.getByRole('group', { name: '사용할 수 있는 아이디' }).waitFor();
    await switchLanguage(page, 'en');
    expect(await status(page, 'account-username').textContent()).toBe('This username is taken.');
    await page.getByRole('group', { name: 'Free usernames' }).waitFor();

    await page.getByLabel('Username', { exact: true }).fill(me.username);
    await page.getByLabel('Email', { exact: true }).fill(`${other}@example.com`);
    await page.getByRole('button', { name: 'Save changes' }).click();
    await expect.poll(() => status(page, 'account-email').textContent()).toBe('This email belongs to another account.');
    expect(await page.locator('#account-email').getAttribute('aria-invalid')).toBe('true');
    expect(await page.locator('#account-email-conflict').count()).toBe(0);
    expect(await status(page, 'account-username').textContent()).toBe('');
    await switchLanguage(page, 'ko');
    expect(await status(page, 'account-email').textContent()).toBe('이미 다른 계정에 등록된 이메일입니다.');

    await page.getByLabel('현재 비밀번호').fill('wrong-password');
    await page.getByLabel('새 비밀번호').fill('new-password-456');
    await page.getByRole('button', { name: '비밀번호 변경' }).click();
    await expect.poll(() => status(page, 'account-current-password').textContent()).toBe('현재 비밀번호가 맞지 않습니다.');
    await switchLanguage(page, 'en');
    expect(await status(page, 'account-current-password').textContent()).toBe('Current password is wrong.');
    expect((await call(context, 'GET', '/api/users/me')).body.data).toMatchObject({
      username: me.username,
      email: `${me.username}@example.com`,
    });
    await context.close();
  });

  it('a session that ends while a new project is typed: back to login with a notice, then to the form with the text kept (never the password)', async () => {
    const { context, page } = await openPage(browser, server);
    const me = await signedIn(page, server);
    await page.getByLabel('제목', { exact: true }).fill('Draft title');
    await page.getByLabel('설명').fill('Draft body');
    await endSession(context);
    await page.getByRole('button', { name: '만들기' }).click();
    await page.getByRole('heading', { level: 1, name: '로그인' }).waitFor();
    expect(await page.getByRole('status').textContent()).toBe('로그인이 끝났습니다. 다시 로그인하면 하던 곳으로 돌아갑니다.');
    expect(await page.getByLabel('아이디 또는 이메일').inputValue()).toBe(me.username);
    expect(await page.getByLabel('비밀번호', { exact: true }).inputValue()).toBe('');
    const stored = await page.evaluate(() => JSON.stringify([Object.entries(sessionStorage), Object.entries(localStorage)]));
    expect(stored).toContain('Draft title');
    expect(stored).not.toContain(me.password);

    await page.getByLabel('비밀번호', { exact: true }).fill(me.password);
    await page.getByRole('button', { name: '로그인', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: '프로젝트' }).waitFor();
    await expect.poll(() => page.getByLabel('제목', { exact: true }).inputValue()).toBe('Draft title');
    expect(await page.getByLabel('설명').inputValue()).toBe('Draft body');
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    expect((await call(context, 'GET', '/api/projects')).body.data).toEqual([]);
    await context.close();
  });

  it('a session that ends during an edit, in English: after login, back on the project with the edit kept; another person gets nothing of it', async () => {
    const { context, page } = await openPage(browser, server, { locale: 'en-US' });
    const me = await signedIn(page, server);
    const project = (await call(context, 'POST', '/api/projects', { title: 'Original' })).body.data;
    await page.goto(`/#/projects/${project.id}`);
    await page.getByRole('heading', { level: 1, name: 'Original' }).waitFor();
    await page.getByLabel('Title', { exact: true }).fill('Edited');
    await endSession(context);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { level: 1, name: 'Log in' }).waitFor();
    expect(await page.getByRole('status').textContent()).toBe('Your session ended. Log in again to go back to where you were.');
    await page.getByLabel('Password', { exact: true }).fill(me.password);
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Original' }).waitFor();
    expect(page.url()).toBe(`${server.url}/#/projects/${project.id}`);
    await expect.poll(() => page.getByLabel('Title', { exact: true }).inputValue()).toBe('Edited');
    expect((await call(context, 'GET', `/api/projects/${project.id}`)).body.data.title).toBe('Original');

    // Ended again, and someone else logs in on this browser: the draft is dropped, not shown to them.
    await page.getByLabel('Title', { exact: true }).fill('Private edit');
    await endSession(context);
    await page.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('heading', { level: 1, name: 'Log in' }).waitFor();
    const other = freshName('other');
    await server.api('POST', '/api/users', { username: other, email: `${other}@example.com`, nickname: 'o', password: 'password-123' });
    await page.getByLabel('Username or email').fill(other);
    await page.getByLabel('Password', { exact: true }).fill('password-123');
    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Projects' }).waitFor();
    expect(page.url()).toBe(`${server.url}/#/projects`);
    expect(await page.evaluate(() => Object.keys(sessionStorage))).toEqual([]);
    await context.close();
  });
  it('a session that ends while the profile is edited: after login, back on the account page with the values as typed', async () => {
    const { context, page } = await openPage(browser, server);
    const me = await signedIn(page, server);
    await page.goto('/#/account');
    await page.getByLabel('닉네임', { exact: true }).fill('새 닉네임');
    await endSession(context);
    await page.getByRole('button', { name: '변경 저장' }).click();
    await page.getByRole('heading', { level: 1, name: '로그인' }).waitFor();
    await page.getByLabel('비밀번호', { exact: true }).fill(me.password);
    await page.getByRole('button', { name: '로그인', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: '계정' }).waitFor();
    await expect.poll(() => page.getByLabel('닉네임', { exact: true }).inputValue()).toBe('새 닉네임');
    expect(await page.getByLabel('아이디', { exact: true }).inputValue()).toBe(me.username);
    expect((await call(context, 'GET', '/api/users/me')).body.data.nickname).toBe(me.username);
    await context.close();
  });
});
