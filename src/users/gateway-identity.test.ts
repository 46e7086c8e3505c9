import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Username } from './users.schemas.ts';
import { identityFromClaims, usernameBase, withSuffix } from './gateway-identity.ts';

describe('usernames from gateway claims', () => {
  it.each([
    [{ 'cognito:username': 'aamorosi' }, 'aamorosi'],
    [{ 'cognito:username': ' Ａｄａ Lovelace! ' }, 'ada-lovelace'],
    [{ preferred_username: 'jane.doe@example.com' }, 'jane.doe-example.com'],
    [{ 'cognito:username': '田中', preferred_username: 'tanaka' }, 'tanaka'],
    [{ 'cognito:username': '田中' }, 'user'],
    [{ preferred_username: 'x'.repeat(40) }, 'x'.repeat(30)],
    [{}, 'user'],
  ])('%j → %s', (claims, base) => {
    expect(usernameBase(claims)).toBe(base);
  });

  it('the base, or else the base with a suffix, is always a username the API accepts', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 60 }), (raw) => {
        const base = usernameBase({ preferred_username: raw });
        const suffixed = withSuffix(base);
        expect(Username.safeParse(suffixed).success).toBe(true);
        expect(suffixed).toMatch(/-[0-9a-f]{6}$/);
        expect(suffixed.length).toBeLessThanOrEqual(30);
      }),
      { numRuns: 500 },
    );
  });
});

describe('identity from claims', () => {
  it('is issuer + sub; no usable sub names nobody', () => {
    expect(identityFromClaims({ iss: 'https://issuer', sub: 'abc' })).toEqual({ issuer: 'https://issuer', subject: 'abc' });
    expect(identityFromClaims({ sub: 'abc' })).toEqual({ issuer: '', subject: 'abc' });
    expect(identityFromClaims({ iss: 'https://issuer' })).toBeUndefined();
    expect(identityFromClaims({ sub: '' })).toBeUndefined();
    expect(identityFromClaims({ sub: 42 })).toBeUndefined();
    expect(identityFromClaims({ sub: 'x'.repeat(256) })).toBeUndefined();
  });
});
