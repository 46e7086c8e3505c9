/**
 * Request paths with a dot-segment, one of each shape: literal, percent-encoded in either case,
 * mixed, leading, trailing, repeated, and behind a backslash (which a URL parser reads as `/`).
 * Each would reach a route a logged-in caller gets a 200 from (GET /api/users/me or
 * /api/projects) if the path were resolved, as `new URL` resolves it; the last one's resolution
 * (`/api/users/`) is an unknown route either way.
 */
export const DOT_SEGMENT_PATHS = [
  '/x/%2e%2e/api/projects',
  '/api/projects/%2e%2e/users/me',
  '/api/projects/%2E%2E/users/me',
  '/api/projects/.%2e/users/me',
  '/api/projects/%2e./users/me',
  '/api/projects/../users/me',
  '/api/./users/me',
  '/api/%2e/users/me',
  '/api/users/%2E/me',
  '/api/x/y/%2e%2e/%2e%2e/users/me',
  '/api/projects/..\\users/me',
  '/api/users/me/..',
];
