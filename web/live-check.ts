import { useEffect, useRef, useState } from 'preact/hooks';
import type { ApiError, Client } from './api.ts';

/** Time after the last keystroke before a value is checked. */
export const DEBOUNCE_MS = 300;

export type Check = { kind: 'idle' } | { kind: 'checking' } | { kind: 'available' } | { kind: 'problem'; error: ApiError };

/** Shared by a form's fields: a 429 pauses every live check until Retry-After has passed. */
export interface Pause {
  paused: boolean;
  pause(seconds: number): void;
}

export function usePause(): Pause {
  const [until, setUntil] = useState(0);
  useEffect(() => {
    if (until === 0) return;
    const timer = setTimeout(() => {
      setUntil(0);
    }, until - Date.now());
    return () => {
      clearTimeout(timer);
    };
  }, [until]);
  return {
    paused: until !== 0,
    pause: (seconds) => {
      setUntil(Date.now() + Math.max(seconds, 1) * 1000);
    },
  };
}

/**
 * Checks a username or email as it is typed: debounced, one request in flight per field (a value
 * typed meanwhile is checked when it returns), and an answer for a value no longer in the field is
 * dropped. Advice only: the submit decides.
 */
export function useLiveCheck(api: Client, field: 'username' | 'email', value: string, pause: Pause) {
  const [check, setCheck] = useState<Check>({ kind: 'idle' });
  const latest = useRef(value);
  latest.current = value;
  const inFlight = useRef(false);
  const queued = useRef<string | null>(null);
  const pauseRef = useRef(pause);
  pauseRef.current = pause;

  async function run(candidate: string): Promise<void> {
    inFlight.current = true;
    const res = await api.request(`GET`, `/api/users/availability?${field}=${encodeURIComponent(candidate)}`);
    inFlight.current = false;
    if (!res.ok && res.status === 429) {
      queued.current = null;
      pauseRef.current.pause(res.retryAfter);
      setCheck({ kind: 'idle' });
      return;
    }
    if (candidate === latest.current) {
      if (res.ok) setCheck({ kind: 'available' });
      else if (res.status === 409 || res.status === 400) setCheck({ kind: 'problem', error: res.error });
      else setCheck({ kind: 'idle' });
    }
    const next = queued.current;
    queued.current = null;
    if (next !== null && next === latest.current && next !== candidate) await run(next);
  }

  useEffect(() => {
    if (value.trim() === '' || pause.paused) {
      queued.current = null;
      setCheck({ kind: 'idle' });
      return;
    }
    setCheck({ kind: 'checking' });
    const timer = setTimeout(() => {
      if (inFlight.current) queued.current = value;
      else void run(value);
    }, DEBOUNCE_MS);
    return () => {
      clearTimeout(timer);
    };
    // run reads refs, so only a new value or the pause ending restarts the debounce.
  }, [value, pause.paused]);

  return [check, setCheck] as const;
}
