import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, LIMITS_OFF } from '../src/config.ts';
import { createLogger } from '../src/logger.ts';
import { createSendMail, Outbox } from '../src/mail/mailer.ts';
import { Metrics } from '../src/observability/metrics.ts';
import { startTestApp, testAppOn, uniqueName, type TestApp } from './support/harness.ts';
import { parseMail, startSmtp, type TestSmtp } from './support/smtp.ts';

const PUBLIC_URL = 'http://projects.test:8080';
const EN = { 'accept-language': 'en' };

let smtp: TestSmtp;
let t: TestApp;
const opened: TestApp[] = [];

beforeAll(async () => {
  smtp = await startSmtp();
  t = await startTestApp({ SMTP_URL: smtp.url, PUBLIC_URL, MAIL_FROM: 'Projects <no-reply@projects.test>' });
});
afterAll(async () => {
  await t.close();
  await smtp.stop();
});
afterEach(async () => {
  for (const app of opened.splice(0)) await app.close();
});

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

async function signUp(fields: { username?: string; email?: string } = {}, headers: Record<string, string> = {}) {
  const username = fields.username ?? uniqueName();
  const email = fields.email ?? `${uniqueName()}@example.com`;
  const res = await t.request('POST', '/api/users', { json: { username, email, nickname: '테스터', password: 'password-123' }, headers });
  return { res, username, email };
}

async function userRow(id: string) {
  return t.db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
}

/** Makes the claim on `email` older than the 24-hour window, as a day passing would. */
async function ageClaim(email: string) {
  await sql`update users set email_claimed_at = now() - interval '25 hours' where email = ${email}`.execute(t.db);
}

describe('verified emails', () => {
  it('signup mails one link in the account’s language; following it verifies the address, and again answers the same', async () => {
    const { res, email } = await signUp({}, EN);
    expect(res.status).toBe(201);
    expect(res.body.data).toMatchObject({ email, emailVerified: false, pendingEmail: null });
    const mail = await smtp.waitForMail(email);
    expect(mail.subject).toBe('Confirm your email address');
    expect(mail.from).toBe('Projects <no-reply@projects.test>');
    expect(mail.link).toBe(`${PUBLIC_URL}/#/verify-email?token=${encodeURIComponent(mail.token)}`);
    expect(mail.html).toContain(`href="${mail.link}"`);
    expect(mail.text).toContain('for 24 hours');
    // Only the hash is stored.
    const tokens = await t.db.selectFrom('email_tokens').selectAll().where('user_id', '=', res.body.data.id).execute();
    expect(tokens).toHaveLength(1);
    expect(tokens[0]).toMatchObject({ token_hash: sha256(mail.token), purpose: 'verify', email, used_at: null });

    const first = await t.request('POST', `/api/email-verifications/${mail.token}`);
    expect(first.status).toBe(200);
    expect(first.body.data).toMatchObject({ id: res.body.data.id, email, emailVerified: true, pendingEmail: null });
    const again = await t.request('POST', `/api/email-verifications/${mail.token}`);
    expect(again.status).toBe(200);
    expect(again.body.data).toEqual(first.body.data);
    expect((await userRow(res.body.data.id)).email_verified).toBe(true);
  });

  it('Korean by default', async () => {
    const { email } = await signUp();
    const mail = await smtp.waitForMail(email);
    expect(mail.subject).toBe('이메일 주소를 확인해 주세요');
    expect(mail.text).toContain('24시간');
  });

  it('an unknown, malformed, expired or reset link is a 400 on token', async () => {
    const { res, email } = await signUp();
    const mail = await smtp.waitForMail(email);
    const expect400 = async (token: string) => {
      const r = await t.request('POST', `/api/email-verifications/${encodeURIComponent(token)}`);
      expect(r.status).toBe(400);
      expect(r.body).toMatchObject({
        code: 'VALIDATION_FAILED',
        field: 'token',
        message: '[Bad Request] 링크가 올바르지 않거나, 만료되었거나, 이미 사용되었습니다.',
        errors: [{ field: 'token', code: 'invalid_token' }],
      });
    };
    await expect400('nonsense');
    await expect400(`${mail.token.slice(0, -3)}AAA`);
    await sql`update email_tokens set expires_at = now() - interval '1 second' where user_id = ${res.body.data.id}`.execute(t.db);
    await expect400(mail.token);
    expect((await userRow(res.body.data.id)).email_verified).toBe(false);
  });

  it('a keyed signup retried gets its replay and no second mail', async () => {
    const username = uniqueName();
    const body = { username, email: `${username}@example.com`, nickname: 'n', password: 'password-123' };
    const headers = { 'idempotency-key': `k-${username}` };
    const one = await t.request('POST', '/api/users', { json: body, headers });
    const two = await t.request('POST', '/api/users', { json: body, headers });
    expect([one.status, two.status]).toEqual([201, 201]);
    expect(two.headers.get('idempotent-replayed')).toBe('true');
    await smtp.waitForMail(body.email);
    const tokens = await t.db.selectFrom('email_tokens').select('user_id').where('user_id', '=', one.body.data.id).execute();
    expect(tokens).toHaveLength(1);
  });

  it('an email change stays pending until its link is followed; then the old address is free', async () => {
    const a = await t.newUser();
    const next = `${uniqueName()}@example.com`;
    const patched = await t.request('PATCH', `/api/users/${a.user.id}`, { token: a.token, json: { email: next.toUpperCase() } });
    expect(patched.status).toBe(200);
    expect(patched.body.data).toMatchObject({ email: a.user.email, pendingEmail: next });
    const mail = await smtp.waitForMail(next);
    const verified = await t.request('POST', `/api/email-verifications/${mail.token}`);
    expect(verified.status).toBe(200);
    expect(verified.body.data).toMatchObject({ email: next, emailVerified: true, pendingEmail: null });
    const me = await t.request('GET', '/api/users/me', { token: a.token });
    expect(me.body.data).toMatchObject({ email: next, pendingEmail: null });
    const reuse = await signUp({ email: a.user.email });
    expect(reuse.res.status).toBe(201);
  });

  it('resend: 202 to the address to verify; 409 when there is none; 429 past the account’s mail limit', async () => {
    const limited = await startTestApp({ SMTP_URL: smtp.url, PUBLIC_URL, RATE_LIMIT_MAIL_PER_HOUR: '2' });
    opened.push(limited);
    const { user, token } = await limited.newUser();
    await smtp.waitForMail(user.email);
    for (let i = 0; i < 2; i++) {
      const resend = await limited.request('POST', '/api/users/me/email-verifications', { token });
      expect(resend.status).toBe(202);
      expect(resend.body).toEqual({ status: 'Success', data: { email: user.email } });
      await smtp.waitForMail(user.email);
    }
    const third = await limited.request('POST', '/api/users/me/email-verifications', { token });
    expect(third.status).toBe(429);
    expect(third.body.code).toBe('RATE_LIMITED');

    const other = await t.newUser();
    const link = await smtp.waitForMail(other.user.email);
    await t.request('POST', `/api/email-verifications/${link.token}`);
    const nothing = await t.request('POST', '/api/users/me/email-verifications', { token: other.token, headers: EN });
    expect(nothing.status).toBe(409);
    expect(nothing.body).toMatchObject({
      code: 'RESOURCE_STATE_CONFLICT',
      message: '[Conflict] There is no email to verify; the address is verified already.',
    });
  });
});

describe('an unverified claim does not block the owner', () => {
  it('inside the window, and when verified, the address is a 409 with the seed text', async () => {
    const { email, res } = await signUp();
    const inWindow = await signUp({ email });
    expect(inWindow.res.status).toBe(409);
    expect((await t.request('GET', `/api/users/availability?email=${email}`)).status).toBe(409);
    expect(inWindow.res.body).toMatchObject({
      code: 'DUPLICATE_RESOURCE',
      field: 'email',
      message: '[Conflict] 이미 존재하는 email입니다',
    });
    const mail = await smtp.waitForMail(email);
    await t.request('POST', `/api/email-verifications/${mail.token}`);
    await ageClaim(email);
    const verified = await signUp({ email });
    expect(verified.res.status).toBe(409);
    expect((await userRow(res.body.data.id)).email).toBe(email);
  });

  it('past the window a signup takes it; the old holder keeps the account without it, and its link stops working', async () => {
    const holder = await signUp();
    const link = await smtp.waitForMail(holder.email);
    await ageClaim(holder.email);
    const availability = await t.request('GET', `/api/users/availability?email=${holder.email}`);
    expect(availability.status).toBe(200);
    const owner = await signUp({ email: holder.email });
    expect(owner.res.status).toBe(201);
    expect((await userRow(holder.res.body.data.id)).email).toBeNull();
    expect(await t.logIn(holder.username, 'password-123')).toBeTypeOf('string');
    const stale = await t.request('POST', `/api/email-verifications/${link.token}`);
    expect(stale.status).toBe(400);
    const ownerLink = await smtp.waitForMail(holder.email);
    expect((await t.request('POST', `/api/email-verifications/${ownerLink.token}`)).status).toBe(200);
  });

  it('50 signups at once for one expired claim: one 201, 49 × 409, one holder', async () => {
    const holder = await signUp();
    await ageClaim(holder.email);
    const results = await Promise.all(Array.from({ length: 50 }, () => signUp({ email: holder.email.toUpperCase() })));
    const statuses = results.map((r) => r.res.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(49);
    for (const r of results.filter((x) => x.res.status === 409))
      expect(r.res.body).toMatchObject({ code: 'DUPLICATE_RESOURCE', field: 'email' });
    const holders = await t.db.selectFrom('users').select('id').where('email', '=', holder.email).execute();
    expect(holders).toHaveLength(1);
    expect(holders[0]?.id).not.toBe(holder.res.body.data.id);
  });

  it('an email change onto an expired claim succeeds once verified', async () => {
    const holder = await signUp();
    await ageClaim(holder.email);
    const mover = await t.newUser();
    const patched = await t.request('PATCH', `/api/users/${mover.user.id}`, { token: mover.token, json: { email: holder.email } });
    expect(patched.status).toBe(200);
    const mail = await smtp.waitForMail(holder.email);
    expect(mail.token).not.toBe('');
    // The holder's own signup link is the older one; the mover's is the one asking for the change.
    const mine = mail.token.startsWith(Buffer.from(mover.user.id.replaceAll('-', ''), 'hex').toString('base64url'))
      ? mail
      : await smtp.waitForMail(holder.email);
    const verified = await t.request('POST', `/api/email-verifications/${mine.token}`);
    expect(verified.status).toBe(200);
    expect(verified.body.data.email).toBe(holder.email);
    expect((await userRow(holder.res.body.data.id)).email).toBeNull();
  });
});

describe('password reset', () => {
  it('202 with the same body whether or not the account exists; the link sets the password, ends every session and verifies the email', async () => {
    const { user, password } = await t.signUp();
    await smtp.waitForMail(user.email);
    const sessions = [await t.logIn(user.username, password), await t.logIn(user.email, password)];
    const before = smtp.messages.length;
    const unknown = await t.request('POST', '/api/password-resets', { json: { login: `${uniqueName()}@example.com` } });
    const known = await t.request('POST', '/api/password-resets', { json: { login: user.username.toUpperCase() } });
    expect(unknown.status).toBe(202);
    expect(known.status).toBe(202);
    expect(known.body).toEqual(unknown.body);
    expect(known.body).toEqual({ status: 'Success', data: { accepted: true } });
    const mail = await smtp.waitForMail(user.email);
    expect(smtp.messages.length).toBe(before + 1);
    expect(mail.subject).toBe('비밀번호 재설정');
    expect(mail.link).toBe(`${PUBLIC_URL}/#/reset-password?token=${encodeURIComponent(mail.token)}`);

    const reset = await t.request('POST', `/api/password-resets/${mail.token}`, { json: { password: 'brand-new-password' } });
    expect(reset.status).toBe(204);
    for (const token of sessions) expect((await t.request('GET', '/api/users/me', { token })).status).toBe(401);
    expect((await t.request('POST', '/api/sessions', { json: { login: user.username, password } })).status).toBe(401);
    const fresh = await t.logIn(user.username, 'brand-new-password');
    expect((await t.request('GET', '/api/users/me', { token: fresh })).body.data.emailVerified).toBe(true);
    const used = await t.request('POST', `/api/password-resets/${mail.token}`, { json: { password: 'another-password' } });
    expect(used.status).toBe(400);
    expect(used.body).toMatchObject({ code: 'VALIDATION_FAILED', field: 'token', errors: [{ field: 'token', code: 'invalid_token' }] });
  });

  it('an expired link, and a verification link, are a 400; a short password is a 400 on password', async () => {
    const { user } = await t.signUp();
    const verify = await smtp.waitForMail(user.email);
    expect((await t.request('POST', `/api/password-resets/${verify.token}`, { json: { password: 'long-enough-1' } })).status).toBe(400);
    await t.request('POST', '/api/password-resets', { json: { login: user.email } });
    const mail = await smtp.waitForMail(user.email);
    const short = await t.request('POST', `/api/password-resets/${mail.token}`, { json: { password: 'short' } });
    expect(short.status).toBe(400);
    expect(short.body.field).toBe('password');
    await sql`update email_tokens set expires_at = now() - interval '1 second' where user_id = ${user.id}`.execute(t.db);
    const expired = await t.request('POST', `/api/password-resets/${mail.token}`, { json: { password: 'long-enough-1' } });
    expect(expired.status).toBe(400);
    expect(expired.body.field).toBe('token');
  });

  it('ends the sessions another instance believes in, within its caller cache’s second', async () => {
    const second = testAppOn(t.testDb, t.db, { SMTP_URL: smtp.url, PUBLIC_URL });
    const { user, password } = await t.signUp();
    await smtp.waitForMail(user.email);
    const token = await t.logIn(user.username, password);
    expect((await second.request('GET', '/api/users/me', { token })).status).toBe(200);
    await t.request('POST', '/api/password-resets', { json: { login: user.username } });
    const mail = await smtp.waitForMail(user.email);
    expect((await t.request('POST', `/api/password-resets/${mail.token}`, { json: { password: 'brand-new-password' } })).status).toBe(204);
    let status = 200;
    const deadline = Date.now() + 10_000;
    while (status === 200 && Date.now() < deadline) {
      status = (await second.request('GET', '/api/users/me', { token })).status;
      if (status === 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toBe(401);
  });

  it('past the account’s mail limit the answer is the same and no mail is sent; past the address limit, 429', async () => {
    const limited = await startTestApp({
      SMTP_URL: smtp.url,
      PUBLIC_URL,
      RATE_LIMIT_MAIL_PER_HOUR: '1',
      RATE_LIMIT_PASSWORD_RESET_PER_MINUTE: '3',
    });
    opened.push(limited);
    const { user } = await limited.signUp();
    await smtp.waitForMail(user.email);
    const first = await limited.request('POST', '/api/password-resets', { json: { login: user.username } });
    await smtp.waitForMail(user.email);
    const second = await limited.request('POST', '/api/password-resets', { json: { login: user.username } });
    expect(second.body).toEqual(first.body);
    const third = await limited.request('POST', '/api/password-resets', { json: { login: user.username } });
    expect(third.status).toBe(202);
    const fourth = await limited.request('POST', '/api/password-resets', { json: { login: user.username } });
    expect(fourth.status).toBe(429);
    expect(fourth.body.code).toBe('RATE_LIMITED');
    // Two more were accepted past the mail limit: only their counters moved, no token was stored.
    const tokens = await limited.db
      .selectFrom('email_tokens')
      .select('purpose')
      .where('user_id', '=', user.id)
      .where('purpose', '=', 'reset')
      .execute();
    expect(tokens).toHaveLength(1);
  });
});

describe('released usernames are held', () => {
  const heldBody = (lang: 'ko' | 'en') => ({
    code: 'USERNAME_HELD',
    field: 'username',
    message:
      lang === 'ko'
        ? '[Conflict] 최근까지 사용되던 username라서 아직 쓸 수 없습니다.'
        : '[Conflict] This username was in use recently and cannot be taken yet.',
    errors: [{ field: 'username', code: 'held' }],
  });

  it('a deleted account’s name is a 409 USERNAME_HELD with suggestions, at signup and in the availability check, in both languages', async () => {
    const { user, token } = await t.newUser();
    expect((await t.request('DELETE', `/api/users/${user.id}`, { token })).status).toBe(204);
    const ko = await signUp({ username: user.username });
    expect(ko.res.status).toBe(409);
    expect(ko.res.body).toMatchObject(heldBody('ko'));
    expect(ko.res.body.suggestions.length).toBeGreaterThan(0);
    const en = await signUp({ username: user.username.toUpperCase() }, EN);
    expect(en.res.body).toMatchObject(heldBody('en'));
    const check = await t.request('GET', `/api/users/availability?username=${user.username}`, { headers: EN });
    expect(check.status).toBe(409);
    expect(check.body).toMatchObject(heldBody('en'));
    expect(await t.db.selectFrom('users').select('id').where('username', '=', user.username).execute()).toHaveLength(0);
  });

  it('a rename holds the old name for others; the one who released it takes it back', async () => {
    const a = await t.newUser();
    const other = uniqueName();
    expect((await t.request('PATCH', `/api/users/${a.user.id}`, { token: a.token, json: { username: other } })).status).toBe(200);
    const taken = await signUp({ username: a.user.username });
    expect(taken.res.body).toMatchObject(heldBody('ko'));
    const b = await t.newUser();
    const rename = await t.request('PATCH', `/api/users/${b.user.id}`, { token: b.token, json: { username: a.user.username } });
    expect(rename.status).toBe(409);
    expect(rename.body).toMatchObject(heldBody('ko'));
    const back = await t.request('PATCH', `/api/users/${a.user.id}`, { token: a.token, json: { username: a.user.username } });
    expect(back.status).toBe(200);
    expect(back.body.data.username).toBe(a.user.username);
    // Now `other` is held for a, and free for nobody else.
    expect((await signUp({ username: other })).res.body.code).toBe('USERNAME_HELD');
  });

  it('once the hold ends, 50 signups at once: one 201, 49 × 409', async () => {
    const { user, token } = await t.newUser();
    await t.request('DELETE', `/api/users/${user.id}`, { token });
    await sql`update usernames set held_until = now() - interval '1 second' where username = ${user.username}`.execute(t.db);
    const results = await Promise.all(Array.from({ length: 50 }, () => signUp({ username: user.username })));
    const statuses = results.map((r) => r.res.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(49);
    expect(await t.db.selectFrom('users').select('id').where('username', '=', user.username).execute()).toHaveLength(1);
  });

  it('USERNAME_HOLD_DAYS=0 frees a name at once', async () => {
    const free = await startTestApp({ USERNAME_HOLD_DAYS: '0' });
    opened.push(free);
    const { user, token } = await free.newUser();
    await free.request('DELETE', `/api/users/${user.id}`, { token });
    expect((await free.request('GET', `/api/users/availability?username=${user.username}`)).status).toBe(200);
  });
});

describe('mail delivery', () => {
  it('a refused send is retried; the signup stands either way', async () => {
    const config = loadConfig({ ...LIMITS_OFF, SMTP_URL: smtp.url, PUBLIC_URL, DATABASE_URL: 'pglite://memory' });
    const logs: Record<string, unknown>[] = [];
    const logger = createLogger('info', { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) });
    const metrics = new Metrics();
    const outbox = new Outbox(createSendMail(config, logger), logger, { retryDelaysMs: [50, 50], onFailure: () => metrics.mailFailed() });
    const app = testAppOn(t.testDb, t.db, { SMTP_URL: smtp.url, PUBLIC_URL }, { outbox, logger, metrics });

    smtp.refuseNext(1);
    const retried = await app.signUp();
    await smtp.waitForMail(retried.user.email);

    smtp.refuseNext(3);
    const lost = await app.signUp();
    await outbox.drain();
    expect(await t.db.selectFrom('users').select('id').where('id', '=', lost.user.id).execute()).toHaveLength(1);
    const failure = logs.find((l) => l.msg === 'a mail could not be sent');
    expect(failure).toMatchObject({ level: 50, to: lost.user.email, attempts: 3 });
    expect(await metrics.registry.getSingleMetricAsString('mail_failures_total')).toContain('mail_failures_total 1');
    const token = await t.db.selectFrom('email_tokens').select('token_hash').where('user_id', '=', lost.user.id).executeTakeFirstOrThrow();
    expect(JSON.stringify(logs)).not.toContain(token.token_hash);
  });

  it('with no SMTP_URL each mail is an .eml file in MAIL_DIR; the log names the file, never the link', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'projects-api-mail-'));
    const local = testAppOn(t.testDb, t.db, { MAIL_DIR: dir, PUBLIC_URL });
    const { user } = await local.signUp();
    let files: string[] = [];
    const deadline = Date.now() + 10_000;
    while (files.length === 0 && Date.now() < deadline) {
      files = readdirSync(dir);
      if (files.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(files).toHaveLength(1);
    const { headers, text } = parseMail(readFileSync(join(dir, files[0]!), 'latin1'));
    expect(headers.get('to')).toBe(user.email);
    const link = /http:\/\/projects\.test:8080\/#\/verify-email\?token=\S+/.exec(text)?.[0];
    expect(link).toBeDefined();
    const line = local.logs.find((l) => l.msg === 'mail written to a file (no SMTP_URL)');
    expect(line?.file).toBe(join(dir, files[0]!));
    const token = decodeURIComponent(link!.split('token=')[1]!);
    expect(JSON.stringify(local.logs)).not.toContain(token);
    expect((await local.request('POST', `/api/email-verifications/${token}`)).status).toBe(200);
  });
});
