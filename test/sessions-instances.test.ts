import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, type Database } from '../src/db/database.ts';
import { startTestApp, testAppOn, type TestApp } from './support/harness.ts';

// Two instances of the app on one database, each with its own session cache: A and B. On
// PostgreSQL each has its own pool; PGlite has one connection, which both share.
let a: TestApp;
let b: TestApp;
let bDatabase: Database | undefined;
beforeAll(async () => {
  a = await startTestApp();
  bDatabase = a.testDb.url === undefined ? undefined : await createDb(a.testDb.url);
  b = testAppOn(a.testDb, bDatabase?.db ?? a.db);
});
afterAll(async () => {
  await bDatabase?.close();
  await a.close();
});

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Uses the token on B every 100 ms for `ms`; returns the statuses. */
async function useFor(token: string, ms: number): Promise<number[]> {
  const statuses: number[] = [];
  for (const end = Date.now() + ms; Date.now() < end; await pause(100)) {
    statuses.push((await b.request('GET', '/api/users/me', { token })).status);
  }
  return statuses;
}

/**
 * Keeps using the token on B every 100 ms until `done` holds; fails if it does not hold within the
 * deadline (one second of cache, plus slack for a loaded machine).
 */
async function useUntil(token: string, done: (status: number) => Promise<boolean> | boolean, deadlineMs = 2_500): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const { status } = await b.request('GET', '/api/users/me', { token });
    if (await done(status)) return;
    if (Date.now() > deadline) throw new Error(`not reached while the token was in use (last status ${status})`);
    await pause(100);
  }
}

/** A token in constant use on B for longer than the cache lifetime, answered 200 throughout. */
async function inConstantUse() {
  const { user, password, token } = await a.newUser();
  expect(new Set(await useFor(token, 1_500))).toEqual(new Set([200]));
  return { user, password, token };
}

async function backdate(token: string, column: 'last_seen_at' | 'expires_at', interval: string): Promise<void> {
  await a.db
    .updateTable('sessions')
    .set({ [column]: sql<Date>`now() - ${interval}::interval` })
    .where('token_hash', '=', sha256(token))
    .execute();
}

describe('a session in constant use on instance B', () => {
  it('ends on B soon after logout on A, and stays ended', async () => {
    const { token } = await inConstantUse();
    expect((await a.request('DELETE', '/api/sessions/current', { token })).status).toBe(204);
    await useUntil(token, (status) => status === 401);
    expect(new Set(await useFor(token, 500))).toEqual(new Set([401]));
  });

  it('ends on B soon after its password is changed on A', async () => {
    const { user, password, token } = await inConstantUse();
    const other = await a.logIn(user.username, password);
    const changed = await a.request('PATCH', `/api/users/${user.id}`, {
      token: other,
      json: { password: 'brand-new-pass', currentPassword: password },
    });
    expect(changed.status).toBe(200);
    await useUntil(token, (status) => status === 401);
    expect((await b.request('GET', '/api/users/me', { token: other })).status).toBe(200);
  });

  it('ends on B soon after the account is deleted on A', async () => {
    const { user, token } = await inConstantUse();
    expect((await a.request('DELETE', `/api/users/${user.id}`, { token })).status).toBe(204);
    await useUntil(token, (status) => status === 401);
  });

  it('ends when it has been idle past SESSION_IDLE_MINUTES by the database', async () => {
    const { token } = await inConstantUse();
    await backdate(token, 'last_seen_at', '31 minutes');
    await useUntil(token, (status) => status === 401);
  });

  it('ends at its absolute expiry', async () => {
    const { token } = await inConstantUse();
    await backdate(token, 'expires_at', '1 second');
    await useUntil(token, (status) => status === 401);
  });

  it('records its activity in the database while in use', async () => {
    const { token } = await inConstantUse();
    await backdate(token, 'last_seen_at', '5 minutes');
    await useUntil(token, async (status) => {
      expect(status).toBe(200);
      const row = await a.db
        .selectFrom('sessions')
        .select(sql<boolean>`last_seen_at > now() - interval '1 minute'`.as('fresh'))
        .where('token_hash', '=', sha256(token))
        .executeTakeFirstOrThrow();
      return row.fresh;
    });
  });
});
