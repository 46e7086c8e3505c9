import type { Lang } from './i18n.ts';

/** The failure envelope every API error uses. */
export interface ApiError {
  code: string;
  message: string;
  field?: string;
  errors?: { field: string; code: string; message: string }[];
  conflict?: { id: string; location: string };
  suggestions?: string[];
  requestId?: string;
}

export type Result<T> =
  | { ok: true; status: number; data: T; etag: string | null; next: string | null }
  | { ok: false; status: number; error: ApiError; retryAfter: number };

export interface User {
  id: string;
  username: string;
  nickname: string;
  email: string | null;
  emailVerified: boolean;
  /** An address a change asked for, waiting for its mailed link. */
  pendingEmail: string | null;
}

export interface Project {
  id: string;
  title: string;
  description: string | null;
  version: number;
  createdAt: string;
  deletedAt: string | null;
}

export interface Client {
  request<T>(method: string, path: string, options?: { json?: unknown; ifMatch?: string | null }): Promise<Result<T>>;
}

/**
 * Same-origin JSON calls that carry the session cookie. The API localises its messages by
 * `Accept-Language`, so the page asks in its own current language. A 401 UNAUTHENTICATED means the
 * session ended under the page (logging out of a dead session is not news).
 */
export function client(lang: Lang, onSessionEnded: () => void): Client {
  return {
    async request<T>(method: string, path: string, options: { json?: unknown; ifMatch?: string | null } = {}): Promise<Result<T>> {
      const headers: Record<string, string> = { 'Accept-Language': lang, Accept: 'application/json' };
      if (options.json !== undefined) headers['Content-Type'] = 'application/json';
      if (options.ifMatch) headers['If-Match'] = options.ifMatch;
      let res: Response;
      try {
        res = await fetch(path, {
          method,
          headers,
          credentials: 'same-origin',
          ...(options.json !== undefined && { body: JSON.stringify(options.json) }),
        });
      } catch {
        return { ok: false, status: 0, error: { code: 'NETWORK', message: '' }, retryAfter: 0 };
      }
      const body = res.status === 204 ? undefined : ((await res.json().catch(() => undefined)) as Record<string, unknown> | undefined);
      if (res.ok) {
        const meta = body?.meta as { nextCursor?: string | null } | undefined;
        return { ok: true, status: res.status, data: body?.data as T, etag: res.headers.get('etag'), next: meta?.nextCursor ?? null };
      }
      const error = (body as ApiError | undefined) ?? { code: 'UNKNOWN', message: `HTTP ${res.status}` };
      if (res.status === 401 && error.code === 'UNAUTHENTICATED' && !(method === 'DELETE' && path === '/api/sessions/current')) {
        onSessionEnded();
      }
      return { ok: false, status: res.status, error, retryAfter: Number(res.headers.get('retry-after') ?? 0) };
    },
  };
}
