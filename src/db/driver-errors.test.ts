import { describe, expect, it } from 'vitest';
import { isConnectionFatal, isDataException, isDatabaseUnavailable, sqlState } from './driver-errors.ts';

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
