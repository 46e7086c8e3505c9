// A `.` or `..` segment, literal or percent-encoded (`%2e`, `.%2E`, `%2e%2e`, …), which the URL
// parser every entry builds its Request with resolves, so `/api/projects/%2e%2e/users/me` would
// reach `/api/users/me`. A segment also ends at `\`, which that parser reads as `/` in an http(s)
// URL, and at an encoded slash (`%2f`, `%5c`), which a proxy in front may have decoded already.
const DOT_SEGMENT = /(?:^|[/\\]|%2f|%5c)(?:\.|%2e){1,2}(?=[/\\]|%2f|%5c|$)/i;

// The URL parser drops tabs and newlines anywhere in a URL, and C0 controls and spaces at its end.
// eslint-disable-next-line no-control-regex -- those controls are what it has to match
const DROPPED_BY_URL_PARSER = /[\t\n\r]|[\u0000-\u0020]+$/g;

/**
 * Whether a request path, as the client sent it and before any URL parsing, has a dot-segment.
 * A query or fragment may follow; only the path before them counts.
 */
export function hasDotSegment(target: string): boolean {
  const [path = ''] = target.split(/[?#]/, 1);
  return DOT_SEGMENT.test(path.replace(DROPPED_BY_URL_PARSER, ''));
}
