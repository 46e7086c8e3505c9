import { useState } from 'preact/hooks';
import type { ApiError, User } from './api.ts';
import { PasswordField } from './password-field.tsx';
import { ERROR_TEXTS } from './i18n.ts';
import { ErrorBox, Field, useEnv, useFocusHeading } from './ui.tsx';

/** `endedFor`: the username whose session ended under the page; the form says so and starts with it. */
export function Login({ onSignedIn, endedFor }: { onSignedIn: (user: User) => void; endedFor?: string | undefined }) {
  const { t, api, lang } = useEnv();
  const heading = useFocusHeading<HTMLHeadingElement>();
  const [login, setLogin] = useState(endedFor ?? '');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    // The session comes back as an HttpOnly cookie; the token in the body is not kept.
    const res = await api.request<{ user: User }>('POST', '/api/sessions', { json: { login, password } });
    setBusy(false);
    if (res.ok) onSignedIn(res.data.user);
    else setError(res.error);
  }

  return (
    <section aria-labelledby="login-title">
      <h1 id="login-title" tabIndex={-1} ref={heading}>
        {t.login}
      </h1>
      {endedFor !== undefined && (
        <p class="alert" role="status">
          {ERROR_TEXTS[lang].sessionEnded}
        </p>
      )}
      <form onSubmit={(e) => void submit(e)} noValidate>
        <Field id="login-login" label={t.loginField} value={login} onInput={setLogin} autocomplete="username" />
        <PasswordField id="login-password" label={t.password} value={password} onInput={setPassword} autocomplete="current-password" />
        <ErrorBox error={error} />
        <button type="submit" class="primary" disabled={busy} aria-busy={busy}>
          {busy ? t.loggingIn : t.login}
        </button>
      </form>
      <p>
        <a href="#/forgot-password">{t.forgotPassword}</a>
      </p>
      <p>
        <a href="#/signup">{t.noAccount}</a>
      </p>
    </section>
  );
}
