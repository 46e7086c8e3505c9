import { fileURLToPath } from 'node:url';
import axe from 'axe-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freshName, hasBrowser, launchBrowser, signedIn, startPageServer, type PageServer } from './support.ts';

// How the page looks and what people expect of it: header, theme, focus, password fields,
// autocomplete, the project list. Real server process, Debian's Chromium, axe-core.

const TEXT = {
  ko: {
    locale: 'ko-KR',
    signup: '회원가입',
    projects: '프로젝트',
    account: '계정',
    logout: '로그아웃',
    password: '비밀번호',
    username: '아이디',
    email: '이메일',
    nickname: '닉네임',
    newPassword: '새 비밀번호',
    currentPassword: '현재 비밀번호',
    showPassword: '비밀번호 표시',
    darkMode: '어두운 화면',
    suggestions: '사용할 수 있는 아이디',
    available: '사용할 수 있습니다.',
    weak: '강도: 약함. 길게, 그리고 대문자·숫자·기호를 섞으면 강해집니다.',
    fair: '강도: 보통. 길게, 그리고 대문자·숫자·기호를 섞으면 강해집니다.',
    strong: '강도: 강함',
    sameAsName: '강도: 약함. 아이디나 이메일과 비슷합니다.',
    show: '보기',
    all: '전체',
    search: '제목으로 찾기',
    live: '사용 중',
    deleted: '삭제됨',
    noDescription: '설명 없음',
    changedNow: /^마지막 수정: \d+초 전$/,
    deletedNow: /^삭제: \d+초 전$/,
    searchNone: '제목이 맞는 프로젝트가 없습니다.',
    create: '만들기',
    title: '제목',
    description: '설명',
  },
  en: {
    locale: 'en-US',
    signup: 'Sign up',
    projects: 'Projects',
    account: 'Account',
    logout: 'Log out',
    password: 'Password',
    username: 'Username',
    email: 'Email',
    nickname: 'Nickname',
    newPassword: 'New password',
    currentPassword: 'Current password',
    showPassword: 'Show password',
    darkMode: 'Dark mode',
    suggestions: 'Free usernames',
    available: 'Available.',
    weak: 'Strength: weak. Longer, with capitals, digits and symbols mixed in, is stronger.',
    fair: 'Strength: fair. Longer, with capitals, digits and symbols mixed in, is stronger.',
    strong: 'Strength: strong',
    sameAsName: 'Strength: weak. Too close to your username or email.',
    show: 'Show',
    all: 'All',
    search: 'Search by title',
    live: 'Live',
    deleted: 'Deleted',
    noDescription: 'No description',
    changedNow: /^Changed \d+ seconds? ago$/,
    deletedNow: /^Deleted \d+ seconds? ago$/,
    searchNone: 'No project title matches.',
    create: 'Create',
    title: 'Title',
    description: 'Description',
  },
} as const;
type Lang = keyof typeof TEXT;

const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };

function picture(name: string): string {
  return fileURLToPath(new URL(`../../docs/${name}.png`, import.meta.url));
}

describe.skipIf(!hasBrowser())('the look of the page in Chromium', () => {
  let server: PageServer;
  let browser: Browser;
  beforeAll(async () => {
    [server, browser] = await Promise.all([startPageServer(), launchBrowser()]);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  async function open(lang: Lang, options: { viewport?: { width: number; height: number }; dark?: boolean } = {}) {
    // axe is injected as a script, which the page's own CSP rightly forbids; only these contexts bypass it.
    const context: BrowserContext = await browser.newContext({
      locale: TEXT[lang].locale,
      viewport: options.viewport ?? DESKTOP,
      colorScheme: options.dark ? 'dark' : 'light',
      baseURL: server.url,
      bypassCSP: true,
    });
    const page = await context.newPage();
    return { context, page };
  }

  async function violations(page: Page) {
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: axe.source });
    return page.evaluate(async () => {
      const result = await (window as any).axe.run(document);
      return result.violations.map((v: any) => ({ id: v.id, impact: v.impact, nodes: v.nodes.map((n: any) => n.target) }));
    });
  }

  /** The root's background, which the theme decides. */
  function background(page: Page) {
    return page.evaluate(() => getComputedStyle(document.body.parentElement!).backgroundColor);
  }
  const LIGHT_BG = 'rgb(246, 247, 249)';
  const DARK_BG = 'rgb(17, 20, 24)';

  async function user(prefix = 'look') {
    const username = freshName(prefix);
    const res = await server.api('POST', '/api/users', {
      username,
      email: `${username}@example.com`,
      nickname: username,
      password: 'password-123',
    });
    expect(res.status).toBe(201);
    return username;
  }

  /** The signup form with a taken username, its suggestions shown, and a short password. */
  async function takenSignup(page: Page, lang: Lang, taken: string) {
    const t = TEXT[lang];
    await page.goto('/');
    await page.getByLabel(t.username, { exact: true }).fill(taken);
    await page.getByLabel(t.email, { exact: true }).fill(`${taken}.new@example.com`);
    await page.getByLabel(t.nickname, { exact: true }).fill(lang === 'ko' ? '민지' : 'Minji');
    await expect.poll(() => page.getByRole('group', { name: t.suggestions }).getByRole('button').count()).toBe(3);
    await page.getByLabel(t.password, { exact: true }).fill('pass');
    // The email's live check has answered too: the picture is the same from one run to the next.
    await expect.poll(() => page.locator('#signup-email-status').textContent()).toBe(t.available);
  }

  /** A signed-in list: projects with and without a description, one of them deleted, all shown. */
  async function listWithRows(page: Page, lang: Lang, username = freshName('rows')) {
    const t = TEXT[lang];
    await signedIn(page, server, username);
    const call = (method: string, path: string, data?: unknown) =>
      page.context().request.fetch(`${server.url}${path}`, { method, ...(data !== undefined && { data }) });
    const titles: [string, string, string] =
      lang === 'ko' ? ['알파 릴리스', '베타 테스트', '지난 분기 정리'] : ['Alpha release', 'Beta test', 'Last quarter'];
    const described =
      lang === 'ko'
        ? '첫 공개 버전: 회원가입, 로그인, 프로젝트 목록과 중복 제목 처리까지 포함하고, 휴대폰에서도 한 줄 머리말로 보이며, 시스템 설정이나 스위치로 어두운 화면을 고를 수 있고, 비밀번호를 보며 입력할 수 있고, 제목으로 찾을 수 있습니다.'
        : 'The first public version: sign-up, log-in, the project list and duplicate titles, with a one-row header on phones, dark mode by the system or a switch, a password field that shows what was typed, and a search over the titles.';
    const gone = await (await call('POST', '/api/projects', { title: titles[2] })).json();
    expect((await call('DELETE', `/api/projects/${gone.data.id}`)).status()).toBe(204);
    expect((await call('POST', '/api/projects', { title: titles[1] })).status()).toBe(201);
    expect((await call('POST', '/api/projects', { title: titles[0], description: described })).status()).toBe(201);
    await page.reload();
    await page.getByLabel(t.show, { exact: true }).selectOption({ label: t.all });
    await expect.poll(() => page.getByRole('list').last().getByRole('listitem').count()).toBe(3);
    return { titles, described };
  }

  async function account(page: Page, lang: Lang) {
    await signedIn(page, server, freshName('acct'));
    await page.getByRole('link', { name: TEXT[lang].account }).click();
    await page.getByLabel(TEXT[lang].newPassword).waitFor();
  }

  describe.each(['ko', 'en'] as const)('in %s', (lang) => {
    const t = TEXT[lang];

    it('the header is one row from a 360 px phone up, signed in with a long name, and the name differs from the nav link', async () => {
      const { context, page } = await open(lang, { viewport: { width: 360, height: 780 } });
      // 30 characters, the longest a username (and so this nickname) can be.
      await signedIn(page, server, freshName('header').padEnd(30, 'x'));
      const header = page.getByRole('banner');
      for (const width of [360, 641, 800, 1280]) {
        await page.setViewportSize({ width, height: 780 });
        const rows = await header.evaluate((el) => {
          const items = [
            el.querySelector('.brand'),
            ...Array.from(el.querySelectorAll('nav li')),
            ...Array.from(el.querySelectorAll(':scope > button, :scope > .who')),
          ].filter((item) => item!.getBoundingClientRect().width > 0);
          return {
            height: el.getBoundingClientRect().height,
            overflows: el.scrollWidth > el.clientWidth,
            centres: items.map((item) => {
              const box = item!.getBoundingClientRect();
              return Math.round(box.top + box.height / 2);
            }),
          };
        });
        expect({ width, height: rows.height <= 48, overflows: rows.overflows }).toEqual({ width, height: true, overflows: false });
        // Mark, three nav items, two switches, and from 641 px who is signed in.
        expect(rows.centres).toHaveLength(width > 640 ? 7 : 6);
        expect(Math.max(...rows.centres) - Math.min(...rows.centres)).toBeLessThanOrEqual(2);
        expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(width);
      }
      await header.getByRole('button', { name: t.logout }).waitFor();
      // The name is there for screen readers on a phone, and is not the nav word.
      expect(await header.locator('.brand').textContent()).toBe('Plotline');
      expect(await page.title()).toBe('Plotline');
      await expect.poll(() => header.getByRole('link', { name: t.projects, exact: true }).getAttribute('aria-current')).toBe('page');
      await context.close();
    });

    it('no focus ring on the heading the page focuses; the keyboard still gets one', async () => {
      const { context, page } = await open(lang);
      await page.goto('/');
      const heading = page.getByRole('heading', { level: 1, name: t.signup });
      await expect.poll(() => heading.evaluate((el) => el === document.activeElement)).toBe(true);
      expect(await heading.evaluate((el) => getComputedStyle(el).outlineStyle)).toBe('none');
      await page.keyboard.press('Tab');
      const ring = await page.evaluate(() => {
        const el = document.activeElement as HTMLElement;
        const style = getComputedStyle(el);
        return { tag: el.tagName, outline: `${style.outlineStyle} ${style.outlineWidth}` };
      });
      expect(ring).toEqual({ tag: 'INPUT', outline: 'solid 3px' });
      await context.close();
    });

    it('every password field has a show/hide switch that keeps the value; new ones get a strength hint', async () => {
      const { context, page } = await open(lang);
      const name = freshName('pw');
      await page.goto('/');
      const password = page.getByLabel(t.password, { exact: true });
      await page.getByLabel(t.username, { exact: true }).fill(name);
      const toggle = page.getByRole('button', { name: t.showPassword });
      await password.fill('pass');
      expect(await toggle.getAttribute('aria-pressed')).toBe('false');
      await toggle.click();
      expect(await toggle.getAttribute('aria-pressed')).toBe('true');
      expect(await password.getAttribute('type')).toBe('text');
      expect(await password.inputValue()).toBe('pass');
      await toggle.click();
      expect(await password.getAttribute('type')).toBe('password');
      const strength = page.locator('#signup-password-strength');
      expect(await strength.getAttribute('aria-live')).toBe('polite');
      expect(await password.getAttribute('aria-describedby')).toContain('signup-password-strength');
      for (const [typed, says] of [
        ['pass', t.weak],
        ['abcdefgh1', t.fair],
        ['Correct-Horse-9', t.strong],
        [`${name}-Xy9!`, t.sameAsName],
        ['aaaaaaaaaaaaaaaaaa', t.weak],
      ] as const) {
        await password.fill(typed);
        await expect.poll(() => strength.textContent()).toBe(says);
      }

      await page.goto('/#/login');
      const loginPassword = page.getByLabel(t.password, { exact: true });
      await loginPassword.fill('secret');
      await page.getByRole('button', { name: t.showPassword }).click();
      expect(await loginPassword.getAttribute('type')).toBe('text');
      expect(await page.locator('#login-password-strength').count()).toBe(0);

      await account(page, lang);
      const toggles = page.getByRole('button', { name: t.showPassword });
      expect(await toggles.count()).toBe(2);
      await page.getByLabel(t.newPassword).fill('Another-Long-Pass-7');
      await toggles.last().click();
      expect(await page.getByLabel(t.newPassword).getAttribute('type')).toBe('text');
      expect(await page.getByLabel(t.currentPassword).getAttribute('type')).toBe('password');
      expect(await page.locator('#account-new-password-strength').textContent()).toBe(t.strong);
      expect(await page.locator('#account-current-password-strength').count()).toBe(0);
      await context.close();
    });

    it('autocomplete is right on every field: Chromium reports no form issue and logs no [DOM] warning', async () => {
      const { context, page } = await open(lang);
      const cdp = await context.newCDPSession(page);
      const issues: string[] = [];
      cdp.on('Audits.issueAdded', (e) => issues.push(JSON.stringify(e.issue)));
      await cdp.send('Audits.enable');
      const warnings: string[] = [];
      page.on('console', (m) => {
        if (m.text().includes('[DOM]')) warnings.push(m.text());
      });
      const fields = () =>
        page.evaluate(() =>
          Array.from(document.querySelectorAll('input'), (i) => `${i.id || i.name}:${i.getAttribute('autocomplete') ?? ''}`),
        );
      await page.goto('/');
      await page.getByLabel(t.username, { exact: true }).waitFor();
      expect(await fields()).toEqual([
        'signup-username:username',
        'signup-email:email',
        'signup-nickname:off',
        'signup-password:new-password',
      ]);
      await page.goto('/#/login');
      await page.getByLabel(t.password, { exact: true }).waitFor();
      expect(await fields()).toEqual(['login-login:username', 'login-password:current-password']);
      await account(page, lang);
      expect(await fields()).toEqual([
        'account-username:username',
        'account-email:email',
        'account-nickname:off',
        'username:username',
        'account-current-password:current-password',
        'account-new-password:new-password',
      ]);
      await page.getByRole('link', { name: t.projects, exact: true }).click();
      await page.getByLabel(t.search).waitFor();
      expect(await fields()).toEqual(['project-title:', 'project-search:off']);
      // Chromium reports form issues once the page has settled; a round trip to it is enough.
      await cdp.send('Runtime.evaluate', { expression: '1' });
      expect(warnings).toEqual([]);
      expect(issues).toEqual([]);
      await context.close();
    });

    it('the list shows description, last change and state, and searches titles over every page', async () => {
      const { context, page } = await open(lang);
      const { titles, described } = await listWithRows(page, lang);
      const rows = page.getByRole('list').last().getByRole('listitem');
      const row = (title: string) => rows.filter({ has: page.getByRole('link', { name: title, exact: true }) });
      const first = row(titles[0]);
      expect(await first.locator('.state').textContent()).toBe(t.live);
      expect(await first.locator('.description').textContent()).toBe(described);
      // Two lines at most: the rest of a long description is cut.
      expect(await first.locator('.description').evaluate((el) => el.scrollHeight > el.clientHeight)).toBe(true);
      expect(await first.locator('time').textContent()).toMatch(t.changedNow);
      expect(await row(titles[1]).locator('.description').textContent()).toBe(t.noDescription);
      const gone = row(titles[2]);
      expect(await gone.locator('.state').textContent()).toBe(t.deleted);
      expect(await gone.locator('time').textContent()).toMatch(t.deletedNow);
      expect(await gone.locator('time').getAttribute('datetime')).toMatch(/^\d{4}-\d\d-\d\dT/);

      const search = page.getByLabel(t.search);
      await search.fill(lang === 'ko' ? '릴리' : 'RELEASE');
      await expect.poll(() => rows.count()).toBe(1);
      expect(await rows.first().getByRole('link').textContent()).toBe(titles[0]);
      await search.fill('zzz');
      await expect.poll(() => rows.count()).toBe(0);
      await page.getByText(t.searchNone).waitFor();
      await search.fill('');
      await expect.poll(() => rows.count()).toBe(3);

      // More than a page: the first rows are no longer loaded, and the search (the API's) finds them.
      for (let i = 1; i <= 10; i++) {
        const res = await context.request.fetch(`${server.url}/api/projects`, { method: 'POST', data: { title: `P${i}` } });
        expect(res.status()).toBe(201);
      }
      await page.reload();
      await page.getByRole('button', { name: lang === 'ko' ? '더 보기' : 'Load more' }).waitFor();
      expect(await row(titles[0]).count()).toBe(0);
      await search.fill(lang === 'ko' ? '릴리' : 'RELEASE');
      await expect.poll(() => rows.count()).toBe(1);
      expect(await rows.first().getByRole('link').textContent()).toBe(titles[0]);
      await search.fill('P1');
      await expect.poll(() => rows.count()).toBe(2);
      await context.close();
    });

    it('dark by prefers-color-scheme; axe finds no violation of any impact, light or dark, on signup, projects and account', async () => {
      const taken = await user('taken');
      for (const dark of [false, true]) {
        const { context, page } = await open(lang, { viewport: PHONE, dark });
        await takenSignup(page, lang, taken);
        expect(await background(page)).toBe(dark ? DARK_BG : LIGHT_BG);
        expect(await page.getByRole('button', { name: t.darkMode }).getAttribute('aria-pressed')).toBe(String(dark));
        expect({ page: 'signup', dark, violations: await violations(page) }).toEqual({ page: 'signup', dark, violations: [] });
        await listWithRows(page, lang);
        await page.getByLabel(t.search).fill(lang === 'ko' ? '릴리' : 'release');
        expect({ page: 'projects', dark, violations: await violations(page) }).toEqual({ page: 'projects', dark, violations: [] });
        await page.getByRole('link', { name: t.account }).click();
        await page.getByLabel(t.newPassword).fill('abc');
        expect({ page: 'account', dark, violations: await violations(page) }).toEqual({ page: 'account', dark, violations: [] });
        await context.close();
      }
    });

    it('the switch turns a light system dark and back, and the choice outlives a reload', async () => {
      const { context, page } = await open(lang);
      await page.goto('/');
      const toggle = page.getByRole('button', { name: t.darkMode });
      expect(await background(page)).toBe(LIGHT_BG);
      await toggle.click();
      expect(await toggle.getAttribute('aria-pressed')).toBe('true');
      expect(await background(page)).toBe(DARK_BG);
      expect({ violations: await violations(page) }).toEqual({ violations: [] });
      await page.reload();
      await toggle.waitFor();
      expect(await page.evaluate(() => document.documentElement.dataset.theme)).toBe('dark');
      expect(await background(page)).toBe(DARK_BG);
      expect(await toggle.getAttribute('aria-pressed')).toBe('true');
      // A chosen theme wins over the system's, either way.
      await page.emulateMedia({ colorScheme: 'dark' });
      await toggle.click();
      expect(await background(page)).toBe(LIGHT_BG);
      await page.reload();
      await toggle.waitFor();
      expect(await background(page)).toBe(LIGHT_BG);
      expect(await toggle.getAttribute('aria-pressed')).toBe('false');
      await context.close();
    });
  });

  it('retakes the README pictures: signup with a taken name and the projects page, light and dark, phone and desktop', async () => {
    // Fixed names, so that one run's pictures differ from the last one's only where the page does.
    const taken = 'minji';
    const owner = 'jiwoo';
    expect(
      (await server.api('POST', '/api/users', { username: taken, email: 'minji@example.com', nickname: '민지', password: 'password-123' }))
        .status,
    ).toBe(201);
    let first = true;
    for (const [size, viewport] of [
      ['phone', PHONE],
      ['desktop', DESKTOP],
    ] as const) {
      for (const dark of [false, true]) {
        const suffix = `${size}-${dark ? 'dark' : 'light'}`;
        const { context, page } = await open('ko', { viewport, dark });
        await takenSignup(page, 'ko', taken);
        await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
        await page.screenshot({ path: picture(`signup-${suffix}`) });
        if (first) await listWithRows(page, 'ko', owner);
        else {
          await page.goto('/#/login');
          await page.getByLabel('아이디 또는 이메일', { exact: true }).fill(owner);
          await page.getByLabel(TEXT.ko.password, { exact: true }).fill('password-123');
          await page.getByRole('button', { name: '로그인', exact: true }).click();
          await page.getByLabel(TEXT.ko.show, { exact: true }).selectOption({ label: TEXT.ko.all });
          await expect.poll(() => page.getByRole('list').last().getByRole('listitem').count()).toBe(3);
        }
        first = false;
        await page.getByLabel(TEXT.ko.title, { exact: true }).fill('알파 릴리스');
        await page.getByRole('button', { name: TEXT.ko.create }).click();
        await page.locator('#project-title[aria-invalid="true"]').waitFor();
        await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
        await page.screenshot({ path: picture(`projects-${suffix}`) });
        await context.close();
      }
    }
  });
});
