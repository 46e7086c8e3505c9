import { domainToASCII, domainToUnicode } from 'node:url';

// The canonical forms the unique indexes compare (docs/spec.md §5). They live in the lowest layer
// because migrations recompute them over stored rows as well as the features computing them.

// NFKC can turn a character into a space plus a combining mark (U+00A8 → " ̈") and case mapping
// can leave a string that is no longer NFKC, so one pass is not a fixed point. The steps are
// applied again until nothing changes; a handful of passes reaches it for every input.
const MAX_PASSES = 8;

function untilStable(raw: string, step: (s: string) => string): string {
  let current = raw;
  for (let pass = 0; pass < MAX_PASSES; pass++) {
    const next = step(current);
    if (next === current) return current;
    current = next;
  }
  return current;
}

const DEFAULT_IGNORABLE = /\p{Default_Ignorable_Code_Point}/gu;
const CONTROL = /\p{Cc}/gu;
const WHITE_SPACE_RUN = /\s+/gu;
const MARK = /^\p{M}$/u;

/** Canonical username: trimmed, NFKC, lower-case, to a fixed point (docs/spec.md §5); what the unique index compares. */
export function canonicalUsername(raw: string): string {
  return untilStable(raw, (s) => s.trim().normalize('NFKC').toLowerCase());
}

/**
 * Comparison key of a title: what the per-owner unique index compares. Default-ignorable code
 * points go (they render as nothing), NFKC folds width and compatibility forms, upper- then
 * lower-casing stands in for full case folding (JavaScript has none: ß → ss, ς → σ), white-space
 * runs become one space and controls go; to a fixed point. Empty when nothing in it is visible.
 */
export function titleKey(title: string): string {
  return untilStable(title, (s) =>
    s
      .replace(DEFAULT_IGNORABLE, '')
      .normalize('NFKC')
      .toUpperCase()
      .toLowerCase()
      .replace(WHITE_SPACE_RUN, ' ')
      .replace(CONTROL, '')
      .trim(),
  );
}

/** A plausible canonical address: a local part of at most 64, no spaces, a domain of two or more labels. */
export const EMAIL_SHAPE = /^[^\s@]{1,64}@[^\s@.]+(?:\.[^\s@.]+)+$/;

/** Bidi embedding, override and isolate controls: they reorder the text around them as others see it. */
export const BIDI_CONTROLS = /[\u202a-\u202e\u2066-\u2069]/u;

/** Default-ignorable code points and controls other than white space: invisible inside an address. */
export const INVISIBLE_IN_ADDRESS = /(?!\s)[\p{Default_Ignorable_Code_Point}\p{Cc}]/u;

/**
 * The longest run of combining marks (General_Category M) on one base in `s`, counted in NFD with
 * default-ignorable code points left out, so neither precomposition nor an invisible character
 * between the marks shortens it.
 */
export function longestMarkRun(s: string): number {
  let longest = 0;
  let run = 0;
  for (const ch of s.replace(DEFAULT_IGNORABLE, '').normalize('NFD')) {
    run = MARK.test(ch) ? run + 1 : 0;
    longest = Math.max(longest, run);
  }
  return longest;
}

/**
 * Canonical email: trimmed and NFKC (fullwidth letters and `＠` fold), the local part lower-cased,
 * the domain through UTS 46 processing (`domainToASCII`: mapped, lower-cased, IDN labels as
 * A-labels; empty when it is not a valid domain); to a fixed point. What the unique index compares.
 */
export function canonicalEmail(raw: string): string {
  return untilStable(raw, (s) => {
    const folded = s.trim().normalize('NFKC');
    const at = folded.lastIndexOf('@');
    if (at < 0) return folded.toLowerCase();
    return `${folded.slice(0, at).toLowerCase()}@${domainToASCII(folded.slice(at + 1))}`;
  });
}

// UAX #31 Table 4, the scripts recommended for identifiers; an address letter of any other script
// is refused rather than guessed at.
const RECOMMENDED_SCRIPTS = [
  'Arabic',
  'Armenian',
  'Bengali',
  'Bopomofo',
  'Cyrillic',
  'Devanagari',
  'Ethiopic',
  'Georgian',
  'Greek',
  'Gujarati',
  'Gurmukhi',
  'Han',
  'Hangul',
  'Hebrew',
  'Hiragana',
  'Kannada',
  'Katakana',
  'Khmer',
  'Lao',
  'Latin',
  'Malayalam',
  'Myanmar',
  'Oriya',
  'Sinhala',
  'Tamil',
  'Telugu',
  'Thaana',
  'Thai',
  'Tibetan',
].map((name) => ({ name, pattern: new RegExp(`^\\p{Script=${name}}$`, 'u') }));
const ANY_SCRIPT = /^[\p{Script=Common}\p{Script=Inherited}]$/u;

// UTS 39's highly restrictive combinations: Han writes together with these, and Latin with any.
const SCRIPT_COMBINATIONS = [
  ['Latin', 'Han', 'Hiragana', 'Katakana'],
  ['Latin', 'Han', 'Bopomofo'],
  ['Latin', 'Han', 'Hangul'],
].map((names) => new Set(names));

/**
 * True when the letters of `s` (ignoring Script=Common and Inherited) are of one recommended
 * script, or of one of UTS 39's Latin + Han + Japanese / Bopomofo / Hangul combinations.
 */
export function isSingleScript(s: string): boolean {
  const scripts = new Set<string>();
  for (const ch of s) {
    if (ANY_SCRIPT.test(ch)) continue;
    const script = RECOMMENDED_SCRIPTS.find(({ pattern }) => pattern.test(ch));
    if (!script) return false;
    scripts.add(script.name);
  }
  return scripts.size <= 1 || SCRIPT_COMBINATIONS.some((allowed) => [...scripts].every((name) => allowed.has(name)));
}

/** True when a canonical email's local part and every domain label (as Unicode) are each single-script. */
export function hasSingleScriptParts(email: string): boolean {
  const at = email.lastIndexOf('@');
  const labels = domainToUnicode(email.slice(at + 1)).split('.');
  return [email.slice(0, at), ...labels].every(isSingleScript);
}
