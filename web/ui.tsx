import type { ComponentChildren, InputHTMLAttributes } from 'preact';
import { createContext } from 'preact';
import { useContext, useEffect, useRef } from 'preact/hooks';
import type { ApiError, Client } from './api.ts';
import { errorText, fieldErrorText, fill, isOnField, type Lang, type Messages } from './i18n.ts';

/** Who was signed in when the session ended under the page, and where; null while it lasts. */
export interface SessionEnd {
  userId: string;
  route: string;
}

export interface Env {
  lang: Lang;
  t: Messages;
  api: Client;
  /** Read when a view closes: set then, the view keeps what was typed for after the next login. */
  sessionEnd: { readonly current: SessionEnd | null };
}

export const EnvContext = createContext<Env | null>(null);

export function useEnv(): Env {
  const env = useContext(EnvContext);
  if (!env) throw new Error('EnvContext is missing');
  return env;
}

/** A failure in the page's words, with its request id tucked away for support. */
export function ErrorBox({ error }: { error: ApiError | null }) {
  const { lang } = useEnv();
  return (
    <div class="alert-slot" role="alert">
      {error && (
        <div class="alert">
          <p>{errorText(lang, error)}</p>
          <RequestDetails error={error} />
        </div>
      )}
    </div>
  );
}

/** The failure unless it belongs on one of these fields (then the field shows it, not a box). */
export function offFields(error: ApiError | null, fields: readonly string[]): ApiError | null {
  return error && !fields.some((f) => isOnField(error, f)) ? error : null;
}

/** The page route of what holds a conflicting value, when the page has one (a project; not another person's account). */
export function conflictRoute(error: ApiError | null): string | undefined {
  const id = error?.conflict && /^\/api\/projects\/([0-9a-f-]{36})$/.exec(error.conflict.location)?.[1];
  return id ? `#/projects/${id}` : undefined;
}

/** The way to what holds a taken value, under the field or button the conflict is about. */
export function ConflictLink({ id, error, label }: { id: string; error: ApiError | null; label?: string }) {
  const { t } = useEnv();
  const href = conflictRoute(error);
  if (!href) return null;
  return (
    <p id={id} class="small">
      <a href={href}>{label ?? t.openExisting}</a>
    </p>
  );
}

/** The request id of a failure, folded away: for support, not for the person reading. */
export function RequestDetails({ error }: { error: ApiError | null }) {
  const { t } = useEnv();
  if (!error?.requestId) return null;
  return (
    <details class="small">
      <summary>{t.details}</summary>
      {t.requestId}: <code>{error.requestId}</code>
    </details>
  );
}

/** A live, polite status line that keeps its height so the layout does not jump. */
export function Status({ id, children, tone }: { id: string; children?: ComponentChildren; tone?: 'ok' | 'bad' | 'busy' | undefined }) {
  return (
    <p id={id} class={`status ${tone ?? ''}`} aria-live="polite">
      {children}
    </p>
  );
}

export interface FieldProps {
  id: string;
  label: string;
  value: string;
  onInput: (value: string) => void;
  type?: 'text' | 'email' | 'password';
  autocomplete?: string;
  hint?: string;
  /** The field's current message and how it reads. */
  status?: { text: string; tone?: 'ok' | 'bad' | 'busy' } | undefined;
  /** A failure to show on this field when it is about `field` (the API's name for it); it wins over `status`. */
  problem?: { error: ApiError | null; field: string } | undefined;
  multiline?: boolean;
  children?: ComponentChildren;
}

export function Field(props: FieldProps) {
  const { id, label, value, onInput, type = 'text', autocomplete, hint, status, problem, multiline, children } = props;
  const { lang } = useEnv();
  const problemText = problem?.error ? fieldErrorText(lang, problem.error, problem.field) : undefined;
  const shown = problemText === undefined ? status : { text: problemText, tone: 'bad' as const };
  const conflict = problemText === undefined ? undefined : conflictRoute(problem?.error ?? null);
  const described = [hint ? `${id}-hint` : '', `${id}-status`, conflict ? `${id}-conflict` : ''].filter(Boolean).join(' ');
  const common = {
    id,
    name: id,
    value,
    'aria-describedby': described,
    'aria-invalid': problemText !== undefined ? ('true' as const) : undefined,
    onInput: (e: Event) => {
      onInput((e.currentTarget as HTMLInputElement).value);
    },
  };
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {hint && (
        <p id={`${id}-hint`} class="hint">
          {hint}
        </p>
      )}
      {multiline ? <textarea rows={3} {...common} /> : <input {...({ ...common, type, autocomplete } as InputHTMLAttributes)} />}
      <Status id={`${id}-status`} tone={shown?.tone}>
        {shown?.text}
      </Status>
      {conflict && <ConflictLink id={`${id}-conflict`} error={problem?.error ?? null} />}
      {children}
    </div>
  );
}

/** One-click alternatives to a taken username. */
export function Suggestions({ names, onPick }: { names: string[] | undefined; onPick: (name: string) => void }) {
  const { t } = useEnv();
  if (!names || names.length === 0) return null;
  return (
    <div class="suggestions" role="group" aria-label={t.suggestions}>
      <span class="small">{t.suggestions}:</span>
      {names.map((name) => (
        <button
          key={name}
          type="button"
          class="chip"
          aria-label={fill(t.useSuggestion, { name })}
          onClick={() => {
            onPick(name);
          }}
        >
          {name}
        </button>
      ))}
    </div>
  );
}

/** Moves focus to a view's heading when the view appears, so keyboard and screen-reader users follow. */
export function useFocusHeading<T extends HTMLElement>() {
  const ref = useRef<T>(null);
  useEffect(() => {
    ref.current?.focus();
  }, []);
  return ref;
}

const DRAFT_PREFIX = 'draft:';

/**
 * What was typed in a view, kept when the view closes because the session ended and given back
 * (once) after the next login. Never for passwords. Returns the function that takes the kept values.
 */
export function useDraft<T>(key: string, values: T): () => T | null {
  const { sessionEnd } = useEnv();
  const latest = useRef(values);
  latest.current = values;
  useEffect(
    () => () => {
      if (sessionEnd.current) sessionStorage.setItem(DRAFT_PREFIX + key, JSON.stringify(latest.current));
    },
    [key],
  );
  return () => {
    const kept = sessionStorage.getItem(DRAFT_PREFIX + key);
    if (kept === null) return null;
    sessionStorage.removeItem(DRAFT_PREFIX + key);
    return JSON.parse(kept) as T;
  };
}

/** Drops every kept draft: the next login is someone else's. */
export function clearDrafts(): void {
  for (const key of Object.keys(sessionStorage)) if (key.startsWith(DRAFT_PREFIX)) sessionStorage.removeItem(key);
}
