import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSmtp, type TestSmtp } from '../support/smtp.ts';
import { freshName, hasBrowser, launchBrowser, openPage, signedIn, startPageServer, type PageServer } from './support.ts';

describe.skipIf(!hasBrowser())('mailed links in the page', () => {
  let smtp: TestSmtp;
  let server: PageServer;
  let browser: Browser;
  beforeAll(async () => {
    smtp = await startSmtp();
    [server, browser] = await Promise.all([startPageServer({ SMTP_URL: smtp.url }), launchBrowser()]);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await smtp?.stop();
  });

  it('after signup the page says to check the email; the mailed link confirms it and the notice goes', async () => {
    const { context, page } = await openPage(browser, server);
    const username = freshName();
    const email = `${username}@example.com`;
    await page.goto('/#/signup');
    await page.getByLabel('아이디', { exact: true }).fill(username);
    await page.getByLabel('이메일', { exact: true }).fill(email);
    await page.getByLabel('닉네임', { exact: true }).fill('메일');
    await page.getByLabel('비밀번호', { exact: true }).fill('password-123');
    await page.getByRole('button', { name: '가입하기' }).click();
    await page.getByRole('heading', { level: 1, name: '프로젝트' }).waitFor();
    const notice = page.locator('.verify-notice');
    await notice.getByText(`${email}(으)로 보낸 링크를 열면 이메일 주소가 확인됩니다.`).waitFor();

    const mail = await smtp.waitForMail(email);
    expect(mail.link.startsWith(`${server.url}/#/verify-email?token=`)).toBe(true);
    await page.goto(mail.link);
    await page.getByRole('heading', { level: 1, name: '이메일 확인' }).waitFor();
    await page.getByText(`${email} 주소를 확인했습니다.`).waitFor();
    await page.getByRole('link', { name: '계속하기' }).click();
    await page.getByRole('heading', { level: 1, name: '프로젝트' }).waitFor();
    expect(await notice.count()).toBe(0);
    await context.close();
  });

  it('the resend link mails another one; a used-up link says so', async () => {
    const { context, page } = await openPage(browser, server, { locale: 'en-US' });
    const { username } = await signedIn(page, server);
    const email = `${username}@example.com`;
    const first = await smtp.waitForMail(email);
    await page.getByRole('button', { name: 'Send the link again' }).click();
    await page.getByText(`Sent again to ${email}.`).waitFor();
    const second = await smtp.waitForMail(email);
    expect(second.token).not.toBe(first.token);
    await page.goto(second.link);
    await page.getByText(`${email} is confirmed.`).waitFor();
    // The first link still names this address, which is now verified: it answers the same.
    await page.goto(first.link);
    await page.getByText(`${email} is confirmed.`).waitFor();
    await page.goto(`${server.url}/#/verify-email?token=${first.token.slice(0, -4)}AAAA`);
    await page.getByText('This confirmation link cannot be used', { exact: false }).waitFor();
    await context.close();
  });

  it('a name released by a deleted account is held: said on the username field, with free alternatives, in both languages', async () => {
    const released = freshName('gone');
    const created = await server.api('POST', '/api/users', {
      username: released,
      email: `${released}@example.com`,
      nickname: 'n',
      password: 'password-123',
    });
    expect(created.status).toBe(201);
    const login = await server.api('POST', '/api/sessions', { login: released, password: 'password-123' });
    const gone = await fetch(`${server.url}/api/users/${created.body.data.id}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${login.body.data.token}` },
    });
    expect(gone.status).toBe(204);

    const { context, page } = await openPage(browser, server);
    await page.goto('/#/signup');
    await page.getByLabel('아이디', { exact: true }).fill(released);
    const status = page.locator('#signup-username-status');
    await expect.poll(() => status.textContent()).toBe('최근까지 쓰이던 아이디라 아직 쓸 수 없습니다.');
    expect(await page.locator('#signup-username').getAttribute('aria-invalid')).toBe('true');
    expect(await page.getByRole('group', { name: '사용할 수 있는 아이디' }).getByRole('button').count()).toBeGreaterThan(0);
    await page.getByRole('button', { name: 'Switch to English' }).click();
    await expect.poll(() => status.textContent()).toBe("This username was in use recently and can't be taken yet.");
    await context.close();
  });

  it('forgot password: the same answer for anyone, the mailed link sets a new one, and the login takes it', async () => {
    const { context, page } = await openPage(browser, server, { locale: 'en-US' });
    const username = freshName();
    const created = await server.api('POST', '/api/users', {
      username,
      email: `${username}@example.com`,
      nickname: 'n',
      password: 'password-123',
    });
    expect(created.status).toBe(201);
    await smtp.waitForMail(`${username}@example.com`);
    await page.goto('/#/login');
    await page.getByRole('link', { name: 'Forgot your password?' }).click();
    await page.getByRole('heading', { level: 1, name: 'Reset your password' }).waitFor();
    await page.getByLabel('Username or email').fill(username);
    await page.getByRole('button', { name: 'Send me a reset link' }).click();
    await page.getByText('If that account exists, a reset link is on its way to its email.', { exact: false }).waitFor();
    const mail = await smtp.waitForMail(`${username}@example.com`);
    // In the account's language (its signup asked in none: Korean), whatever the page shows.
    expect(mail.subject).toBe('비밀번호 재설정');

    await page.goto(mail.link);
    await page.getByRole('heading', { level: 1, name: 'Choose a new password' }).waitFor();
    await page.getByLabel('New password', { exact: true }).fill('a-whole-new-one');
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.getByText('Your password is changed, and you are logged out everywhere.').waitFor();
    await page.getByRole('link', { name: 'Log in' }).last().click();
    await page.getByLabel('Username or email').fill(username);
    await page.getByLabel('Password', { exact: true }).fill('a-whole-new-one');
    await page.getByRole('button', { name: 'Log in' }).last().click();
    await page.getByRole('heading', { level: 1, name: 'Projects' }).waitFor();

    // The link works once.
    await page.goto(mail.link);
    await page.getByLabel('New password', { exact: true }).fill('yet-another-one');
    await page.getByRole('button', { name: 'Set password' }).click();
    await page.getByText('This reset link cannot be used', { exact: false }).waitFor();
    await context.close();
  });
});
