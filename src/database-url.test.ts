import { describe, expect, it } from 'vitest';
import { parseHostList } from './database-url.ts';

describe('parseHostList', () => {
  it('splits a libpq host list into single-host URLs that keep the credentials, database and other parameters', () => {
    expect(parseHostList('postgres://app:s%40cret@db1:5432,db2:6432,db3/main?sslmode=require&target_session_attrs=read-write')).toEqual({
      urls: [
        'postgres://app:s%40cret@db1:5432/main?sslmode=require',
        'postgres://app:s%40cret@db2:6432/main?sslmode=require',
        'postgres://app:s%40cret@db3/main?sslmode=require',
      ],
      target: 'read-write',
    });
  });

  it('takes one host, and no host (node-postgres defaults), with target any', () => {
    expect(parseHostList('postgresql://h/db')).toEqual({ urls: ['postgresql://h/db'], target: 'any' });
    expect(parseHostList('postgres:///db?target_session_attrs=primary')).toEqual({ urls: ['postgres:///db'], target: 'primary' });
  });

  it('keeps bracketed IPv6 hosts', () => {
    expect(parseHostList('postgres://u@[::1]:5432,[fe80::2]:5433/db').urls).toEqual([
      'postgres://u@[::1]:5432/db',
      'postgres://u@[fe80::2]:5433/db',
    ]);
  });
});
