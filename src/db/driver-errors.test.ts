import { describe, expect, it } from 'vitest';
import { isConnectionFatal, isDataException, isDatabaseUnavailable, sqlState, violatedConstraint } from './driver-errors.ts';

describe('isDatabaseUnavailable', () => {
  it.each(['57P01', '57P02', '57P03', '53300', '53400', '57014', '40001', '40P01', '08000', '08003', '08006'])(
    'SQLSTATE %s → 503',
    (code) => {
      expect(isDatabaseUnavailable({ code })).toBe(true);
    },
  );

  it.each(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'POOL_TIMEOUT', 'CONNECTION_LOST'])(
    'connection failure %s → 503',
    (code) => {
      expect(isDatabaseUnavailable(Object.assign(new Error('x'), { code }))).toBe(true);
    },
  );

  it.each([['23505'], ['22P02'], ['42P01'], ['ENOENT'], [undefined]])('%s is not an outage', (code) => {
    expect(isDatabaseUnavailable({ code })).toBe(false);
  });
});

describe('isConnectionFatal', () => {
  it.each([['57P01'], ['57P02'], ['57P03'], ['08006'], ['08003']])('%s ends the connection', (code) => {
    expect(isConnectionFatal({ code })).toBe(true);
  });

  it('so does a failure without a SQLSTATE, but not a TypeError or an ordinary SQL error', () => {
    expect(isConnectionFatal(new Error('Connection terminated unexpectedly'))).toBe(true);
    expect(isConnectionFatal(new TypeError('bad parameter'))).toBe(false);
    expect(isConnectionFatal({ code: '23505' })).toBe(false);
    expect(isConnectionFatal({ code: '57014' })).toBe(false);
  });
});

describe('sqlState and isDataException', () => {
  it('reads five-character SQLSTATEs only', () => {
    expect(sqlState({ code: '22021' })).toBe('22021');
    expect(sqlState({ code: 'P0001' })).toBe('P0001');
    expect(sqlState({ code: 'ECONNREFUSED' })).toBeUndefined();
    expect(sqlState({ code: 'EPIPE' })).toBeUndefined();
    expect(sqlState(null)).toBeUndefined();
  });

  it('class 22 is bad input', () => {
    expect(isDataException({ code: '22021' })).toBe(true);
    expect(isDataException({ code: '23505' })).toBe(false);
  });
});

describe('violatedConstraint', () => {
  const known = new Map([
    ['projects_owner_title_key', 'title'],
    ['projects_owner_id_fkey', 'owner'],
  ]);

  it('reads the constraint field PostgreSQL and PGlite set', () => {
    expect(violatedConstraint({ code: '23505', constraint: 'projects_owner_title_key' }, known)).toBe('title');
    expect(violatedConstraint({ code: '23505', constraint: 'other_key' }, known)).toBeUndefined();
  });

  // As Citus 13 re-raises a worker's violations: no constraint field, the shard's name in the text.
  it.each([
    ['duplicate key value violates unique constraint "projects_owner_title_key_102041"', 'title'],
    ['insert or update on table "projects_102041" violates foreign key constraint "projects_owner_id_fkey_102041"', 'owner'],
  ])('maps a shard’s name in the message back to the table’s: %s', (message, entry) => {
    expect(violatedConstraint(Object.assign(new Error(message), { code: '23505' }), known)).toBe(entry);
  });

  it('a shard-suffixed name in the constraint field (a coordinator’s own placement) maps back too', () => {
    expect(violatedConstraint({ code: '23505', constraint: 'projects_owner_title_key_102041' }, known)).toBe('title');
  });

  it('knows nothing of an unknown name or a message without one', () => {
    expect(violatedConstraint(new Error('duplicate key value violates unique constraint "elsewhere_key_7"'), known)).toBeUndefined();
    expect(violatedConstraint(new Error('something else'), known)).toBeUndefined();
  });
});
