import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalEmail, canonicalUsername, isSingleScript, longestMarkRun, titleKey } from './canonical.ts';

// Characters where trimming, NFKC and lower-casing interact: Unicode spaces, compatibility
// characters that decompose to a space plus a mark, combining marks, case specials, and
// fullwidth, circled and superscript forms.
const TRICKY = [
  ' ',
  '\t',
  '\n',
  '\u00a0',
  '\u2000',
  '\u2003',
  '\u3000',
  '\ufeff',
  '\u00a8',
  '\u00af',
  '\u00b4',
  '\u00b8',
  '\u02d8',
  '\u02dd',
  '\u037a',
  '\u0384',
  '\u1fbd',
  '\u1fc0',
  '\u0301',
  '\u0307',
  '\u0308',
  '\u0130',
  '\u00df',
  '\u1e9e',
  '\ufb01',
  '\u03a3',
  '\u03c2',
  '\u212a',
  '\u212b',
  '\u01c5',
  '\uff21',
  '\uff41',
  '\u24b6',
  '\u00aa',
  '\u00b2',
  '\u207f',
  'a',
  'Z',
  '0',
  '.',
  '_',
  '-',
  'а',
  '@',
  '\uff20',
  '\u200b',
  '\u200d',
  '\u00ad',
  '\ufe0f',
  '\u034f',
  '\u2060',
  '\u3164',
  '\u0085',
  'ü',
  'xn--',
];
const trickyString = fc.string({
  unit: fc.oneof(fc.constantFrom(...TRICKY), fc.string({ unit: 'binary', minLength: 1, maxLength: 1 })),
  maxLength: 12,
});

/** Every single code point (surrogates aside) on which `canonical` is not idempotent, in hex. */
function notIdempotentOn(canonical: (s: string) => string): string[] {
  const broken: string[] = [];
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const once = canonical(String.fromCodePoint(cp));
    if (canonical(once) !== once) broken.push(cp.toString(16));
  }
  return broken;
}

describe('canonicalUsername', () => {
  it('is idempotent over 10 000 generated strings', () => {
    fc.assert(
      fc.property(trickyString, (s) => {
        const once = canonicalUsername(s);
        expect(canonicalUsername(once)).toBe(once);
      }),
      { numRuns: 10_000 },
    );
  });

  it('is idempotent on every single code point', () => {
    expect(notIdempotentOn(canonicalUsername)).toEqual([]);
  });

  it('folds width and case: fullwidth twins meet', () => {
    expect(canonicalUsername(' ＡＬＩＣＥ ')).toBe('alice');
    expect(canonicalUsername('Ａlice')).toBe(canonicalUsername('alice'));
  });

  it('leaves look-alikes from other scripts distinct (the pattern then refuses them)', () => {
    expect(canonicalUsername('аlice')).not.toBe('alice');
  });
});

describe('canonicalEmail', () => {
  it('is idempotent over 10 000 generated strings and every single code point', () => {
    fc.assert(
      fc.property(trickyString, (s) => {
        const once = canonicalEmail(s);
        expect(canonicalEmail(once)).toBe(once);
      }),
      { numRuns: 10_000 },
    );
    expect(notIdempotentOn(canonicalEmail)).toEqual([]);
  });
});

describe('titleKey', () => {
  it('is idempotent over 10 000 generated strings and every single code point', () => {
    fc.assert(
      fc.property(trickyString, (s) => {
        const once = titleKey(s);
        expect(titleKey(once)).toBe(once);
      }),
      { numRuns: 10_000 },
    );
    expect(notIdempotentOn(titleKey)).toEqual([]);
  });

  it('drops default-ignorables and controls, folds width, compatibility forms and case fully, collapses white space', () => {
    expect(titleKey('A\u200bl\u00adp\u2060h\u034fa\ufe0f')).toBe('alpha');
    expect(titleKey(' ＳＴＲＡßE\t\n\u3000ﬁle\u0007 ')).toBe('strasse file');
    expect(titleKey('ΣΑΣ')).toBe(titleKey('σας'));
    expect(titleKey('\u200b\u202e\ufe0f')).toBe('');
  });

  it('leaves look-alikes from other scripts distinct', () => {
    expect(titleKey('Аlpha')).not.toBe(titleKey('Alpha'));
  });
});

describe('longestMarkRun', () => {
  it('counts marks on one base in NFD, through default-ignorables', () => {
    expect(longestMarkRun('Tiếng Việt')).toBe(2);
    expect(longestMarkRun(`\u00e1${'\u200b\u0301'.repeat(8)}`)).toBe(9);
    expect(longestMarkRun('\u{1f468}\u200d\u{1f469}\ufe0f')).toBe(0);
  });
});

describe('isSingleScript', () => {
  it.each([
    ['alice.smith+1', true],
    ['пример', true],
    ['аlice', false],
    ['ελληνικά', true],
    ['やまだ太郎x', true],
    ['홍길동abc', true],
    ['ひらがなと한글', false],
    ['ᚠᚢᚦ', false],
  ])('%s → %s', (s, expected) => {
    expect(isSingleScript(s)).toBe(expected);
  });
});
