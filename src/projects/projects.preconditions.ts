/** Versions an `If-Match` accepts: `any` for `*`, else the listed ones. */
export type VersionCondition = 'any' | readonly number[];

/**
 * Versions an `If-Match` header accepts: `undefined` without the header, `any` for `*`, else the
 * versions of its strong `"<n>"` tags (weak or foreign tags never match, per RFC 9110 §13.1.1).
 */
export function ifMatchVersions(header: string | undefined): VersionCondition | undefined {
  if (header === undefined) return undefined;
  if (header.trim() === '*') return 'any';
  return header
    .split(',')
    .map((tag) => /^\s*"(\d{1,9})"\s*$/.exec(tag)?.[1])
    .filter((v) => v !== undefined)
    .map(Number);
}

/** The ETag of a versioned resource. */
export function etag(version: number): string {
  return `"${version}"`;
}
