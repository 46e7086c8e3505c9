import { useEffect, useRef, useState } from 'preact/hooks';
import type { ApiError, User } from './api.ts';
import { isOnField } from './i18n.ts';
import { PasswordField } from './password-field.tsx';
import { ErrorBox, Field, offFields, RequestDetails, Suggestions, useDraft, useEnv, useFocusHeading } from './ui.tsx';

type ProfileField = 'username' | 'email' | 'nickname';
const PROFILE_FIELDS: ProfileField[] = ['username', 'email', 'nickname'];

function Profile({ user, onChanged }: { user: User; onChanged: (u: User) => void }) {
  const { t, api } = useEnv();
  const initial = { username: user.username, email: user.email ?? '', nickname: user.nickname };
  const [values, setValues] = useState(initial);
  const takeDraft = useDraft(`profile:${user.id}`, values);
  useEffect(() => {
    const kept = takeDraft();
    if (kept) setValues(kept);
  }, []);
  const [error, setError] = useState<ApiError | null>(null);
  const [notice, setNotice] = useState('');
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setError(null);
    const changed = Object.fromEntries(PROFILE_FIELDS.filter((f) => values[f] !== initial[f]).map((f) => [f, values[f]]));
    if (Object.keys(changed).length === 0) {
      setNotice(t.nothingToSave);
      return;
    }
    setBusy(true);
    const res = await api.request<User>('PATCH', `/api/users/${user.id}`, { json: changed });
    setBusy(false);
    if (res.ok) {
      setNotice(t.saved);
      onChanged(res.data);
    } else {
      setNotice('');
      setError(res.error);
    }
  }

  const set = (f: ProfileField) => (v: string) => {
    setValues((old) => ({ ...old, [f]: v }));
    setNotice('');
  };
  const field = (f: ProfileField, label: string, type: 'text' | 'email' = 'text') => (
    <Field
      id={`account-${f}`}
      label={label}
      type={type}
      value={values[f]}
      onInput={set(f)}
      // Chromium reports "nickname" as unsupported, and with no value takes the field for the username.
      autocomplete={f === 'nickname' ? 'off' : f}
      problem={{ error, field: f }}
    >
      {f === 'username' && error && isOnField(error, f) && <Suggestions names={error.suggestions} onPick={set('username')} />}
    </Field>
  );
  return (
    <form class="card" onSubmit={(e) => void submit(e)} noValidate aria-labelledby="profile-title">
      <h2 id="profile-title">{t.profile}</h2>
      {field('username', t.username)}
      {field('email', t.email, 'email')}
      {field('nickname', t.nickname)}
      <ErrorBox error={offFields(error, PROFILE_FIELDS)} />
      {!offFields(error, PROFILE_FIELDS) && <RequestDetails error={error} />}
      <p class="status ok" aria-live="polite">
        {notice}
      </p>
      <button type="submit" class="primary" disabled={busy} aria-busy={busy}>
        {busy ? t.saving : t.saveProfile}
      </button>
    </form>
  );
}

function PasswordChange({ user }: { user: User }) {
  const { t, api } = useEnv();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [error, setError] = useState<ApiError | null>(null);
  const [notice, setNotice] = useState('');
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setNotice('');
    const res = await api.request<User>('PATCH', `/api/users/${user.id}`, { json: { password: next, currentPassword: current } });
    setBusy(false);
    if (res.ok) {
      setCurrent('');
      setNext('');
      setNotice(t.passwordChanged);
    } else setError(res.error);
  }
  const passwordFields = ['currentPassword', 'password'];
  return (
    <form class="card" onSubmit={(e) => void submit(e)} noValidate aria-labelledby="password-title">
      <h2 id="password-title">{t.changePassword}</h2>
      {/* Tells a password manager whose password this is. */}
      <input type="text" name="username" autocomplete="username" value={user.username} readOnly hidden />
      <PasswordField
        id="account-current-password"
        label={t.currentPassword}
        value={current}
        onInput={setCurrent}
        autocomplete="current-password"
        problem={{ error, field: 'currentPassword' }}
      />
      <PasswordField
        id="account-new-password"
        label={t.newPassword}
        value={next}
        onInput={setNext}
        autocomplete="new-password"
        names={[user.username, user.email ?? '']}
        hint={t.passwordRules}
        problem={{ error, field: 'password' }}
      />
      <ErrorBox error={offFields(error, passwordFields)} />
      {!offFields(error, passwordFields) && <RequestDetails error={error} />}
      <p class="status ok" aria-live="polite">
        {notice}
      </p>
      <button type="submit" class="primary" disabled={busy} aria-busy={busy}>
        {busy ? t.saving : t.changePassword}
      </button>
    </form>
  );
}

function DeleteAccount({ user, onDeleted }: { user: User; onDeleted: () => void }) {
  const { t, api } = useEnv();
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);
  const confirmButton = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (confirming) confirmButton.current?.focus();
  }, [confirming]);

  async function remove() {
    setBusy(true);
    const res = await api.request('DELETE', `/api/users/${user.id}`);
    setBusy(false);
    if (res.ok) onDeleted();
    else setError(res.error);
  }
  return (
    <div class="card" role="region" aria-labelledby="delete-title">
      <h2 id="delete-title">{t.deleteAccount}</h2>
      {confirming ? (
        <div role="alertdialog" aria-labelledby="delete-confirm-text">
          <p id="delete-confirm-text">{t.confirmDelete}</p>
          <div class="actions">
            <button type="button" class="danger" disabled={busy} ref={confirmButton} onClick={() => void remove()}>
              {t.confirmDeleteButton}
            </button>
            <button
              type="button"
              onClick={() => {
                setConfirming(false);
              }}
            >
              {t.cancel}
            </button>
          </div>
        </div>
      ) : (
        <button
          type="button"
          class="danger"
          onClick={() => {
            setConfirming(true);
          }}
        >
          {t.deleteAccount}
        </button>
      )}
      <ErrorBox error={error} />
    </div>
  );
}

export function Account({ user, onChanged, onDeleted }: { user: User; onChanged: (u: User) => void; onDeleted: () => void }) {
  const { t } = useEnv();
  const heading = useFocusHeading<HTMLHeadingElement>();
  return (
    <section aria-labelledby="account-title">
      <h1 id="account-title" tabIndex={-1} ref={heading}>
        {t.account}
      </h1>
      <Profile key={user.id} user={user} onChanged={onChanged} />
      <PasswordChange user={user} />
      <DeleteAccount user={user} onDeleted={onDeleted} />
    </section>
  );
}
