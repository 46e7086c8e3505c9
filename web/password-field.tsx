import type { ComponentChildren, InputHTMLAttributes } from 'preact';
import { useState } from 'preact/hooks';
import { fieldErrorText, fill, type Messages } from './i18n.ts';
import { Status, useEnv, type FieldProps } from './ui.tsx';

export type Strength = 'weak' | 'fair' | 'strong';

/**
 * A local, rough guess at how hard a password is to guess: its length and how many kinds of
 * character it mixes (lower case, capitals, digits, anything else), and weak whenever it is, or
 * holds, the person's own username or email.
 */
export function passwordStrength(password: string, names: string[]): { level: Strength; sameAsName: boolean } {
  const lower = password.toLowerCase();
  const sameAsName = names.some((name) => {
    const n = name.trim().toLowerCase();
    const local = n.split('@')[0] ?? '';
    return (n.length > 0 && lower === n) || (local.length >= 3 && lower.includes(local));
  });
  const kinds = [/\p{Ll}/u, /\p{Lu}/u, /\p{Nd}/u, /[^\p{Ll}\p{Lu}\p{Nd}]/u].filter((re) => re.test(password)).length;
  const characters = Array.from(new Intl.Segmenter().segment(password), (s) => s.segment);
  const length = characters.length;
  // One or two characters over and over ("aaaaaaaaaa", "abababababab") are as weak as a short one.
  const monotonous = new Set(characters).size <= 2;
  if (sameAsName || monotonous || length < 8) return { level: 'weak', sameAsName };
  if ((length >= 12 && kinds >= 3) || length >= 16) return { level: 'strong', sameAsName };
  if (kinds >= 2 || length >= 12) return { level: 'fair', sameAsName };
  return { level: 'weak', sameAsName };
}

const LEVEL_TEXT: Record<Strength, keyof Messages> = { weak: 'strengthWeak', fair: 'strengthFair', strong: 'strengthStrong' };

function StrengthHint({ id, password, names }: { id: string; password: string; names: string[] }) {
  const { t } = useEnv();
  const strength = password ? passwordStrength(password, names) : undefined;
  return (
    <div id={id} class={`strength ${strength?.level ?? ''}`} aria-live="polite">
      {strength && (
        <>
          <span class="meter" aria-hidden="true">
            <span />
            <span />
            <span />
          </span>
          <span class="small">
            {fill(t.strength, { level: t[LEVEL_TEXT[strength.level]] })}
            {strength.sameAsName ? `. ${t.strengthSameAsName}` : strength.level !== 'strong' && `. ${t.strengthAdvice}`}
          </span>
        </>
      )}
    </div>
  );
}

export interface PasswordFieldProps extends Omit<FieldProps, 'type' | 'multiline' | 'autocomplete'> {
  autocomplete: 'current-password' | 'new-password';
  /** For a new password: the person's username and email, which a strong one must not be. */
  names?: string[];
  children?: ComponentChildren;
}

/** A password input with a show/hide switch, and for a new password a strength hint. */
export function PasswordField(props: PasswordFieldProps) {
  const { id, label, value, onInput, autocomplete, hint, status, problem, names, children } = props;
  const { t, lang } = useEnv();
  const problemText = problem?.error ? fieldErrorText(lang, problem.error, problem.field) : undefined;
  const said = problemText === undefined ? status : { text: problemText, tone: 'bad' as const };
  const [shown, setShown] = useState(false);
  const strengthId = `${id}-strength`;
  const described = [hint ? `${id}-hint` : '', `${id}-status`, names ? strengthId : ''].filter(Boolean).join(' ');
  return (
    <div class="field">
      <label for={id}>{label}</label>
      {hint && (
        <p id={`${id}-hint`} class="hint">
          {hint}
        </p>
      )}
      <div class="password">
        <input
          {...({
            id,
            name: id,
            type: shown ? 'text' : 'password',
            value,
            autocomplete,
            // A shown password is still a password: no spelling or capitalising help that would send it anywhere.
            spellcheck: false,
            autocapitalize: 'off',
            'aria-describedby': described,
            'aria-invalid': problemText !== undefined ? 'true' : undefined,
            onInput: (e: Event) => {
              onInput((e.currentTarget as HTMLInputElement).value);
            },
            // Preact's input types tie `type` to a literal; the same input switches between two.
          } as InputHTMLAttributes)}
        />
        <button
          type="button"
          class="reveal"
          aria-pressed={shown}
          aria-controls={id}
          title={t.showPassword}
          onClick={() => {
            setShown((s) => !s);
          }}
        >
          <svg width="20" height="20" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
            <path d="M2 12s3.6-7 10-7 10 7 10 7-3.6 7-10 7S2 12 2 12z" />
            <circle cx="12" cy="12" r="3" />
            {shown && <path d="M4 20L20 4" />}
          </svg>
          <span class="sr-only">{t.showPassword}</span>
        </button>
      </div>
      <Status id={`${id}-status`} tone={said?.tone}>
        {said?.text}
      </Status>
      {names && <StrengthHint id={strengthId} password={value} names={names} />}
      {children}
    </div>
  );
}
