import type { ComponentChildren, InputHTMLAttributes } from 'preact';
import { createContext } from 'preact';
import { useContext, useEffect, useRef } from 'preact/hooks';
import type { ApiError, Client } from './api.ts';
import { fill, type Lang, type Messages } from './i18n.ts';

export interface Env {
  lang: Lang;
  t: Messages;
  api: Client;
}

export const EnvContext = createContext<Env | null>(null);

export function useEnv(): Env {
  const env = useContext(EnvContext);
  if (!env) throw new Error('EnvContext is missing');
  return env;
}

/** A failure as the API worded it, with its request id tucked away for support. */
export function ErrorBox({ error }: { error: ApiError | null }) {
  return (
    <div class="alert-slot" role="alert">
      {error && (
        <div class="alert">
          <p>{error.message}</p>
          <RequestDetails error={error} />
        </div>
      )}
    </div>
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
  invalid?: boolean;
  multiline?: boolean;
  children?: ComponentChildren;
}

export function Field(props: FieldProps) {
  const { id, label, value, onInput, type = 'text', autocomplete, hint, status, invalid, multiline, children } = props;
  const described = [hint ? `${id}-hint` : '', `${id}-status`].filter(Boolean).join(' ');
  const common = {
    id,
    name: id,
    value,
    'aria-describedby': described,
    'aria-invalid': invalid ? ('true' as const) : undefined,
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
      <Status id={`${id}-status`} tone={status?.tone}>
        {status?.text}
      </Status>
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
