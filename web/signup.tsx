import { useState } from 'preact/hooks';
import { fieldMessage, type ApiError, type User } from './api.ts';
import { fill } from './i18n.ts';
import { useLiveCheck, usePause, type Check } from './live-check.ts';
import { PasswordField } from './password-field.tsx';
import { ErrorBox, Field, Suggestions, useEnv, useFocusHeading } from './ui.tsx';

type FieldName = 'username' | 'email' | 'nickname' | 'password';
const FIELDS: FieldName[] = ['username', 'email', 'nickname', 'password'];

function checkStatus(check: Check, t: { checking: string; available: string }) {
  switch (check.kind) {
    case 'checking':
      return { text: t.checking, tone: 'busy' as const };
    case 'available':
      return { text: t.available, tone: 'ok' as const };
    case 'problem':
      return { text: check.message, tone: 'bad' as const };
    default:
      return undefined;
  }
}

export function Signup({ onSignedIn }: { onSignedIn: (user: User) => void }) {
  const { t, api } = useEnv();
  const heading = useFocusHeading<HTMLHeadingElement>();
  const [values, setValues] = useState<Record<FieldName, string>>({ username: '', email: '', nickname: '', password: '' });
  const [fieldErrors, setFieldErrors] = useState<Partial<Record<FieldName, string>>>({});
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const pause = usePause();
  const [usernameCheck, setUsernameCheck] = useLiveCheck(api, 'username', values.username, pause);
  const [emailCheck, setEmailCheck] = useLiveCheck(api, 'email', values.email, pause);

  const set = (field: FieldName) => (value: string) => {
    setValues((v) => ({ ...v, [field]: value }));
    setFieldErrors((e) => ({ ...e, [field]: undefined }));
  };

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
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
    const errors: Partial<Record<FieldName, string>> = {};
    for (const field of FIELDS) errors[field] = fieldMessage(res.error, field);
    setFieldErrors(errors);
    // A 409 on submit is the server's final word on the field; it replaces the live check's advice.
    if (res.status === 409) {
      if (errors.username) setUsernameCheck({ kind: 'problem', message: errors.username, suggestions: res.error.suggestions });
      if (errors.email) setEmailCheck({ kind: 'problem', message: errors.email });
    }
    if (!res.error.errors) setError(res.error);
    const first = FIELDS.find((f) => errors[f]);
    if (first) document.getElementById(`signup-${first}`)?.focus();
  }

  const status = (field: FieldName, check?: Check) => {
    const message = fieldErrors[field];
    return message ? { text: message, tone: 'bad' as const } : check && checkStatus(check, t);
  };
  const usernameStatus = status('username', usernameCheck);
  const emailStatus = status('email', emailCheck);
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
          status={usernameStatus}
          invalid={usernameStatus?.tone === 'bad'}
        >
          <Suggestions
            names={usernameCheck.kind === 'problem' ? usernameCheck.suggestions : undefined}
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
          status={emailStatus}
          invalid={emailStatus?.tone === 'bad'}
        />
        <Field
          id="signup-nickname"
          label={t.nickname}
          value={values.nickname}
          onInput={set('nickname')}
          // Chromium reports "nickname" as unsupported, and with no value takes the field for the username.
          autocomplete="off"
          status={status('nickname')}
          invalid={Boolean(fieldErrors.nickname)}
        />
        <PasswordField
          id="signup-password"
          label={t.password}
          value={values.password}
          onInput={set('password')}
          autocomplete="new-password"
          names={[values.username, values.email]}
          hint={t.passwordRules}
          status={
            fieldErrors.password
              ? { text: fieldErrors.password, tone: 'bad' }
              : values.password
                ? {
                    text: `${passwordLong ? '✓ ' : ''}${fill(t.passwordLength, { n: values.password.length })}`,
                    tone: passwordLong ? 'ok' : 'busy',
                  }
                : undefined
          }
          invalid={Boolean(fieldErrors.password)}
        />
        <p class="status note" aria-live="polite">
          {pause.paused ? t.liveStopped : ''}
        </p>
        <ErrorBox error={error} />
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
