import { useState } from 'preact/hooks';
import type { ApiError, User } from './api.ts';
import { fill, isOnField } from './i18n.ts';
import { useLiveCheck, usePause, type Check } from './live-check.ts';
import { PasswordField } from './password-field.tsx';
import { ErrorBox, Field, offFields, Suggestions, useEnv, useFocusHeading } from './ui.tsx';

type FieldName = 'username' | 'email' | 'nickname' | 'password';
const FIELDS: FieldName[] = ['username', 'email', 'nickname', 'password'];

function checkStatus(check: Check, t: { checking: string; available: string }) {
  switch (check.kind) {
    case 'checking':
      return { text: t.checking, tone: 'busy' as const };
    case 'available':
      return { text: t.available, tone: 'ok' as const };
    default:
      return undefined;
  }
}

export function Signup({ onSignedIn }: { onSignedIn: (user: User) => void }) {
  const { t, api } = useEnv();
  const heading = useFocusHeading<HTMLHeadingElement>();
  const [values, setValues] = useState<Record<FieldName, string>>({ username: '', email: '', nickname: '', password: '' });
  // Fields typed in since the last submit: its failure no longer speaks for them.
  const [edited, setEdited] = useState<Partial<Record<FieldName, boolean>>>({});
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const pause = usePause();
  const [usernameCheck, setUsernameCheck] = useLiveCheck(api, 'username', values.username, pause);
  const [emailCheck, setEmailCheck] = useLiveCheck(api, 'email', values.email, pause);

  const set = (field: FieldName) => (value: string) => {
    setValues((v) => ({ ...v, [field]: value }));
    setEdited((e) => ({ ...e, [field]: true }));
  };

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setEdited({});
    const res = await api.request<User>('POST', '/api/users', { json: values });
    if (res.ok) {
      const login = await api.request<{ user: User }>('POST', '/api/sessions', {
        json: { login: res.data.username, password: values.password },
      });
      setBusy(false);
      if (login.ok) onSignedIn(login.data.user);
      else setError(login.error);
      return;
    }
    setBusy(false);
    setError(res.error);
    // A 409 on submit is the server's final word on the field; it replaces the live check's advice.
    if (res.status === 409) {
      if (isOnField(res.error, 'username')) setUsernameCheck({ kind: 'problem', error: res.error });
      if (isOnField(res.error, 'email')) setEmailCheck({ kind: 'problem', error: res.error });
    }
    const first = FIELDS.find((f) => isOnField(res.error, f));
    if (first) document.getElementById(`signup-${first}`)?.focus();
  }

  /** The submit's failure while the field is as it was sent, else the live check's. */
  const problem = (field: FieldName, check?: Check) => ({
    field,
    error: error && !edited[field] && isOnField(error, field) ? error : check?.kind === 'problem' ? check.error : null,
  });
  const usernameProblem = problem('username', usernameCheck);
  const passwordLong = values.password.length >= 8 && values.password.length <= 128;

  return (
    <section aria-labelledby="signup-title">
      <h1 id="signup-title" tabIndex={-1} ref={heading}>
        {t.signup}
      </h1>
      <form onSubmit={(e) => void submit(e)} noValidate>
        <Field
          id="signup-username"
          label={t.username}
          value={values.username}
          onInput={set('username')}
          autocomplete="username"
          hint={t.usernameRules}
          status={checkStatus(usernameCheck, t)}
          problem={usernameProblem}
        >
          <Suggestions
            names={usernameProblem.error?.suggestions}
            onPick={(name) => {
              set('username')(name);
              document.getElementById('signup-username')?.focus();
            }}
          />
        </Field>
        <Field
          id="signup-email"
          label={t.email}
          type="email"
          value={values.email}
          onInput={set('email')}
          autocomplete="email"
          status={checkStatus(emailCheck, t)}
          problem={problem('email', emailCheck)}
        />
        <Field
          id="signup-nickname"
          label={t.nickname}
          value={values.nickname}
          onInput={set('nickname')}
          // Chromium reports "nickname" as unsupported, and with no value takes the field for the username.
          autocomplete="off"
          problem={problem('nickname')}
        />
        <PasswordField
          id="signup-password"
          label={t.password}
          value={values.password}
          onInput={set('password')}
          autocomplete="new-password"
          names={[values.username, values.email]}
          hint={t.passwordRules}
          problem={problem('password')}
          status={
            values.password
              ? {
                  text: `${passwordLong ? '✓ ' : ''}${fill(t.passwordLength, { n: values.password.length })}`,
                  tone: passwordLong ? 'ok' : 'busy',
                }
              : undefined
          }
        />
        <p class="status note" aria-live="polite">
          {pause.paused ? t.liveStopped : ''}
        </p>
        <ErrorBox error={offFields(error, FIELDS)} />
        <button type="submit" class="primary" disabled={busy} aria-busy={busy}>
          {busy ? t.creatingAccount : t.createAccount}
        </button>
      </form>
      <p>
        <a href="#/login">{t.haveAccount}</a>
      </p>
    </section>
  );
}
