import { useEffect, useState } from 'preact/hooks';
import type { ApiError, User } from './api.ts';
import { fill, isOnField } from './i18n.ts';
import { PasswordField } from './password-field.tsx';
import { ErrorBox, Field, useEnv, useFocusHeading } from './ui.tsx';

/** The `token` query parameter of a mailed link's hash route (`#/verify-email?token=…`). */
export function linkToken(hash: string): string {
  return new URLSearchParams(hash.split('?')[1] ?? '').get('token') ?? '';
}

/** Whether a failure is the API's "this link is no good" (unknown, expired, used, superseded). */
function badLink(error: ApiError): boolean {
  return error.code === 'VALIDATION_FAILED' && error.field === 'token';
}

/** Where a verification link lands: it is followed once on arrival, and says what came of it. */
export function VerifyEmail({ token, onVerified }: { token: string; onVerified: (user: User) => void }) {
  const { t, api } = useEnv();
  const heading = useFocusHeading<HTMLHeadingElement>();
  const [state, setState] = useState<{ kind: 'busy' } | { kind: 'done'; email: string } | { kind: 'failed'; error: ApiError }>({
    kind: 'busy',
  });
  useEffect(() => {
    void api.request<User>('POST', `/api/email-verifications/${encodeURIComponent(token)}`).then((res) => {
      if (res.ok) {
        setState({ kind: 'done', email: res.data.email ?? '' });
        onVerified(res.data);
      } else setState({ kind: 'failed', error: res.error });
    });
    // The link is followed once per visit; a language switch must not follow it again.
  }, [token]);
  return (
    <section aria-labelledby="verify-title">
      <h1 id="verify-title" tabIndex={-1} ref={heading}>
        {t.verifyTitle}
      </h1>
      {state.kind === 'busy' && <p class="status busy">{t.verifying}</p>}
      {state.kind === 'done' && (
        <p class="status ok" role="status">
          {fill(t.verified, { email: state.email })}
        </p>
      )}
      {state.kind === 'failed' && (badLink(state.error) ? <p class="alert">{t.badVerifyLink}</p> : <ErrorBox error={state.error} />)}
      <p>
        <a href="#/projects">{t.continue}</a>
      </p>
    </section>
  );
}

/**
 * "Check your email": shown to a signed-in person whose address is not verified yet, or whose new
 * address waits for its link, with a resend.
 */
export function VerifyNotice({ user }: { user: User }) {
  const { t, api } = useEnv();
  const [sent, setSent] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const waiting = user.pendingEmail ?? (user.emailVerified ? null : user.email);
  if (waiting === null) return null;
  async function resend() {
    setBusy(true);
    setError(null);
    const res = await api.request<{ email: string }>('POST', '/api/users/me/email-verifications');
    setBusy(false);
    if (res.ok) setSent(res.data.email);
    else setError(res.error);
  }
  return (
    <aside class="note verify-notice" aria-labelledby="verify-notice-title">
      <p id="verify-notice-title">
        <strong>{t.checkEmail}</strong> {fill(user.pendingEmail ? t.checkEmailPending : t.checkEmailSignup, { email: waiting })}
      </p>
      <p>
        <button type="button" class="link" onClick={() => void resend()} disabled={busy} aria-busy={busy}>
          {t.resend}
        </button>{' '}
        <span class="small" aria-live="polite">
          {sent && fill(t.resent, { email: sent })}
        </span>
      </p>
      <ErrorBox error={error} />
    </aside>
  );
}

/** "Forgot password": the same answer whatever was typed, so it tells nobody which accounts exist. */
export function ForgotPassword() {
  const { t, api } = useEnv();
  const heading = useFocusHeading<HTMLHeadingElement>();
  const [login, setLogin] = useState('');
  const [done, setDone] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const res = await api.request('POST', '/api/password-resets', { json: { login } });
    setBusy(false);
    if (res.ok) setDone(true);
    else setError(res.error);
  }
  return (
    <section aria-labelledby="forgot-title">
      <h1 id="forgot-title" tabIndex={-1} ref={heading}>
        {t.forgotTitle}
      </h1>
      {done ? (
        <p class="status ok" role="status">
          {t.resetSent}
        </p>
      ) : (
        <form onSubmit={(e) => void submit(e)} noValidate>
          <Field
            id="forgot-login"
            label={t.loginField}
            value={login}
            onInput={setLogin}
            autocomplete="username"
            problem={{ error, field: 'login' }}
          />
          {error && !isOnField(error, 'login') && <ErrorBox error={error} />}
          <button type="submit" class="primary" disabled={busy} aria-busy={busy}>
            {t.sendResetLink}
          </button>
        </form>
      )}
      <p>
        <a href="#/login">{t.backToLogin}</a>
      </p>
    </section>
  );
}

/** Where a reset link lands: a new password, then the login view. */
export function ResetPassword({ token }: { token: string }) {
  const { t, api } = useEnv();
  const heading = useFocusHeading<HTMLHeadingElement>();
  const [password, setPassword] = useState('');
  const [done, setDone] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const res = await api.request('POST', `/api/password-resets/${encodeURIComponent(token)}`, { json: { password } });
    setBusy(false);
    if (res.ok) setDone(true);
    else setError(res.error);
  }
  const passwordError = error !== null && isOnField(error, 'password');
  return (
    <section aria-labelledby="reset-title">
      <h1 id="reset-title" tabIndex={-1} ref={heading}>
        {t.resetTitle}
      </h1>
      {done ? (
        <p class="status ok" role="status">
          {t.resetDone} <a href="#/login">{t.login}</a>
        </p>
      ) : (
        <form onSubmit={(e) => void submit(e)} noValidate>
          {/* A password manager files the new password under the account it fills in here. */}
          <input type="text" name="username" autocomplete="username" value="" readOnly hidden />
          <PasswordField
            id="reset-password"
            label={t.newPassword}
            value={password}
            onInput={setPassword}
            autocomplete="new-password"
            names={[]}
            hint={t.passwordRules}
            problem={{ error, field: 'password' }}
          />
          {error && badLink(error) && (
            <p class="alert" role="alert">
              {t.badResetLink} <a href="#/forgot-password">{t.sendResetLink}</a>
            </p>
          )}
          {error && !badLink(error) && !passwordError && <ErrorBox error={error} />}
          <button type="submit" class="primary" disabled={busy} aria-busy={busy}>
            {t.setPassword}
          </button>
        </form>
      )}
    </section>
  );
}
