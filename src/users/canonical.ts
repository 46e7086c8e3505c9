// NFKC can turn a character into a space plus a combining mark (U+00A8 → " ̈") and lower-casing
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

/** Canonical username: trimmed, NFKC, lower-case, to a fixed point (docs/spec.md §5); what the unique index compares. */
export function canonicalUsername(raw: string): string {
  return untilStable(raw, (s) => s.trim().normalize('NFKC').toLowerCase());
}

/** Canonical email: trimmed, lower-case, to a fixed point; what the unique index compares. */
export function canonicalEmail(raw: string): string {
  return untilStable(raw, (s) => s.trim().toLowerCase());
}
