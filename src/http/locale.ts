import { LOCALES, type Locale } from '../errors/messages.ts';

/**
 * The first language of `Accept-Language` (by q-value, then order) that we speak, else `fallback`.
 * `ko-KR` counts as `ko`; `*` and unknown languages fall through.
 */
export function negotiateLocale(header: string | undefined, fallback: Locale): Locale {
  if (!header) return fallback;
  const ranges = header
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/i.exec(p)?.[1]).find((v) => v !== undefined);
      return { primary: tag.trim().toLowerCase().split('-')[0] ?? '', q: q === undefined ? 1 : Number(q), index };
    })
    .filter((r) => r.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index);
  for (const { primary } of ranges) {
    const found = LOCALES.find((locale) => locale === primary);
    if (found) return found;
  }
  return fallback;
}
