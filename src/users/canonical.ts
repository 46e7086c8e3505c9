/** Canonical username: trimmed, NFKC, lower-case (SPEC §5); what the unique index compares. */
export function canonicalUsername(raw: string): string {
  return raw.trim().normalize('NFKC').toLowerCase();
}

/** Canonical email: trimmed, lower-case; what the unique index compares. */
export function canonicalEmail(raw: string): string {
  return raw.trim().toLowerCase();
}
