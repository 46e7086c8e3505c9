import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Database } from '../src/db/database.ts';
import { startTestApp, testAppOn, TEST_CLIENT_IP_HEADER, type TestApp, type TestResponse } from './support/harness.ts';

const LIMIT = 10;
const env = { RATE_LIMIT_LOGIN_FAILURES: String(LIMIT) };

// Two instances on one database: on PostgreSQL each with its own pool, on PGlite sharing its one
// connection.
let a: TestApp;
let b: TestApp;
let bDatabase: Database | undefined;
beforeAll(async () => {
  a = await startTestApp(env);
  bDatabase = a.testDb.url === undefined ? undefined : await createDb(a.testDb.url);
  b = testAppOn(a.testDb, bDatabase?.db ?? a.db, env);
});
afterAll(async () => {
  await bDatabase?.close();
  await a.close();
});

let address = 0;
/** A login from an address of its own, as a distributed guesser would send it. */
function logIn(app: TestApp, login: string, password: string): Promise<TestResponse> {
  address += 1;
  return app.request('POST', '/api/sessions', {
    json: { login, password },
    headers: { [TEST_CLIENT_IP_HEADER]: `10.0.${address >> 8}.${address & 255}` },
  });
}

const count = (results: TestResponse[], status: number) => results.filter((r) => r.status === status).length;

/** Answers as the client sees them, without what differs per request. */
const seen = (res: TestResponse) => ({ status: res.status, body: { ...res.body, requestId: undefined } });

describe('the failed-login budget under concurrency', () => {
  it('30 concurrent wrong passwords: exactly the limit is verified (401), the rest 429; then the right password waits', async () => {
    const { user, password } = await a.signUp();
    const results = await Promise.all(Array.from({ length: 30 }, () => logIn(a, user.username, 'wrong-password')));
    expect(count(results, 401)).toBe(LIMIT);
    expect(count(results, 429)).toBe(30 - LIMIT);
    expect(results.filter((r) => r.status === 401).every((r) => r.body.code === 'INVALID_CREDENTIALS')).toBe(true);
    const right = await logIn(a, user.username, password);
    expect(right.status).toBe(429);
    expect(right.body.code).toBe('RATE_LIMITED');
    expect(Number(right.headers.get('retry-after'))).toBeGreaterThan(60);
    expect(await a.db.selectFrom('sessions').select('token_hash').where('user_id', '=', user.id).execute()).toEqual([]);
  });

  it('the same over two instances', async () => {
    const { user } = await a.signUp();
    const results = await Promise.all(Array.from({ length: 30 }, (_, i) => logIn(i % 2 ? a : b, user.username, 'wrong-password')));
    expect(count(results, 401)).toBe(LIMIT);
    expect(count(results, 429)).toBe(30 - LIMIT);
  });

  it('a right password inside a burst of wrong ones never makes more than the limit verified', async () => {
    const { user, password } = await a.signUp();
    const results = await Promise.all(
      Array.from({ length: 30 }, (_, i) => logIn(i % 2 ? a : b, user.username, i === 15 ? password : 'wrong-password')),
    );
    expect(count(results, 401) + count(results, 201)).toBe(LIMIT);
    expect(count(results, 429)).toBe(30 - LIMIT);
  });

  it('a successful login gives its attempt back: the limit counts wrong passwords only', async () => {
    const { user, password } = await a.signUp();
    for (let i = 0; i < LIMIT - 1; i++) expect((await logIn(a, user.username, 'wrong-password')).status).toBe(401);
    expect((await logIn(b, user.username, password)).status).toBe(201);
    expect((await logIn(a, user.username, 'wrong-password')).status).toBe(401);
    expect((await logIn(b, user.username, 'wrong-password')).status).toBe(429);
  });
});

describe('what a lock-out reveals', () => {
  it("a locked username's email answers exactly as an unknown email does", async () => {
    const { user } = await a.signUp();
    for (let i = 0; i < LIMIT; i++) expect((await logIn(a, user.username.toUpperCase(), 'wrong-password')).status).toBe(401);
    expect((await logIn(a, user.username, 'wrong-password')).status).toBe(429);
    const own = await logIn(a, user.email, 'wrong-password');
    const unknown = await logIn(a, `nobody-${user.username}@example.com`, 'wrong-password');
    expect(own.status).toBe(401);
    expect(seen(own)).toEqual(seen(unknown));
  });

  it('an unknown identifier locks exactly as a real one', async () => {
    const { user } = await a.signUp();
    const ghost = `ghost-${user.username}`;
    const real: number[] = [];
    const fake: number[] = [];
    for (let i = 0; i <= LIMIT; i++) {
      real.push((await logIn(a, user.username, 'wrong-password')).status);
      fake.push((await logIn(a, ghost, 'wrong-password')).status);
    }
    expect(fake).toEqual(real);
    expect(real).toEqual([...Array.from({ length: LIMIT }, () => 401), 429]);
  });
});
