import { render } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { Account } from './account.tsx';
import { ForgotPassword, linkToken, ResetPassword, VerifyEmail, VerifyNotice } from './email-flows.tsx';
import { client, type User } from './api.ts';
import { fill, MESSAGES, preferredLang, type Lang } from './i18n.ts';
import { Login } from './login.tsx';
import { Mark } from './mark.tsx';
import { ProjectPage } from './project.tsx';
import { Projects } from './projects.tsx';
import { Signup } from './signup.tsx';
import { applyStoredTheme, useTheme } from './theme.ts';
import { clearDrafts, EnvContext, useEnv, type SessionEnd } from './ui.tsx';

const LANG_KEY = 'lang';

function initialLang(): Lang {
  const chosen = localStorage.getItem(LANG_KEY);
  return chosen === 'ko' || chosen === 'en' ? chosen : preferredLang(navigator.languages);
}

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const onChange = () => {
      setHash(location.hash);
    };
    addEventListener('hashchange', onChange);
    return () => {
      removeEventListener('hashchange', onChange);
    };
  }, []);
  return hash;
}

function go(route: string) {
  location.hash = route;
}

function Nav({
  user,
  route,
  onLogout,
  onToggleLang,
}: {
  user: User | null;
  route: string;
  onLogout: () => void;
  onToggleLang: () => void;
}) {
  const { t } = useEnv();
  const [theme, setTheme] = useTheme();
  const links: [string, string][] = user
    ? [
        ['#/projects', t.projects],
        ['#/account', t.account],
      ]
    : [
        ['#/signup', t.signup],
        ['#/login', t.login],
      ];
  return (
    <header class="top">
      <p class="brand">
        <Mark />
        <span class="brand-name">{t.appName}</span>
      </p>
      <nav aria-label={t.nav}>
        <ul>
          {links.map(([href, label]) => (
            <li key={href}>
              <a href={href} aria-current={route.startsWith(href) ? 'page' : undefined}>
                {label}
              </a>
            </li>
          ))}
          {user && (
            <li>
              <button type="button" class="link" onClick={onLogout}>
                {t.logout}
              </button>
            </li>
          )}
        </ul>
      </nav>
      <button
        type="button"
        class="lang"
        lang={t.otherLanguage === 'English' ? 'en' : 'ko'}
        aria-label={t.otherLanguageLabel}
        onClick={onToggleLang}
      >
        {t.otherLanguage}
      </button>
      <button
        type="button"
        class="theme"
        aria-pressed={theme === 'dark'}
        title={t.darkMode}
        onClick={() => {
          setTheme(theme === 'dark' ? 'light' : 'dark');
        }}
      >
        <svg width="20" height="20" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
          <path d="M20 14.5A8.5 8.5 0 0 1 9.5 4a8.5 8.5 0 1 0 10.5 10.5z" />
        </svg>
        <span class="sr-only">{t.darkMode}</span>
      </button>
      {user && <p class="small who">{fill(t.signedInAs, { name: user.nickname })}</p>}
    </header>
  );
}

function App({ initialUser }: { initialUser: User | null }) {
  const [lang, setLang] = useState<Lang>(initialLang);
  const t = MESSAGES[lang];
  const [user, setUser] = useState<User | null>(initialUser);
  const sessionEnd = useRef<SessionEnd | null>(null);
  const [endedFor, setEndedFor] = useState<string | undefined>(undefined);
  const userRef = useRef(user);
  userRef.current = user;
  // Read at the time of the 401, not when the client was made: only a signed-in page has a session to lose.
  const sessionEnded = () => {
    const current = userRef.current;
    if (!current || sessionEnd.current) return;
    sessionEnd.current = { userId: current.id, route: location.hash };
    setEndedFor(current.username);
    setUser(null);
    go('#/login');
  };
  const api = useMemo(() => client(lang, sessionEnded), [lang]);
  const env = useMemo(() => ({ lang, t, api, sessionEnd }), [lang, t, api]);
  const hash = useHash();

  useEffect(() => {
    document.documentElement.lang = lang;
    document.title = t.appName;
  }, [lang, t]);

  const signedIn = (u: User) => {
    const ended = sessionEnd.current;
    sessionEnd.current = null;
    setEndedFor(undefined);
    setUser(u);
    // Back to where the session ended, with what was typed there, only for the same person.
    if (ended?.userId !== u.id) clearDrafts();
    go(ended?.userId === u.id && ended.route.startsWith('#/') ? ended.route : '#/projects');
  };
  const signedOut = () => {
    setUser(null);
    go('#/login');
  };

  let view;
  const projectId = /^#\/projects\/([0-9a-f-]{36})$/.exec(hash)?.[1];
  // Mailed links and the reset request work signed in or not.
  const path = hash.split('?')[0] ?? '';
  if (path === '#/verify-email') {
    view = (
      <VerifyEmail
        token={linkToken(hash)}
        onVerified={(verified) => {
          if (user && user.id === verified.id) setUser(verified);
        }}
      />
    );
  } else if (path === '#/reset-password') view = <ResetPassword token={linkToken(hash)} />;
  else if (path === '#/forgot-password') view = <ForgotPassword />;
  else if (!user) view = hash === '#/login' ? <Login onSignedIn={signedIn} endedFor={endedFor} /> : <Signup onSignedIn={signedIn} />;
  else if (projectId) view = <ProjectPage key={projectId} id={projectId} />;
  else if (hash === '#/account') view = <Account user={user} onChanged={setUser} onDeleted={signedOut} />;
  else view = <Projects />;

  const route = ['#/verify-email', '#/reset-password', '#/forgot-password'].includes(path)
    ? path
    : user === null && hash !== '#/login'
      ? '#/signup'
      : user && !hash.startsWith('#/account')
        ? '#/projects'
        : hash;
  return (
    <EnvContext.Provider value={env}>
      <Nav
        user={user}
        route={route}
        onToggleLang={() => {
          const next = lang === 'ko' ? 'en' : 'ko';
          localStorage.setItem(LANG_KEY, next);
          setLang(next);
        }}
        onLogout={() => {
          void api.request('DELETE', '/api/sessions/current').then(signedOut);
        }}
      />
      <main>
        {user && path !== '#/verify-email' && <VerifyNotice user={user} />}
        {view}
      </main>
    </EnvContext.Provider>
  );
}

applyStoredTheme();

/**
 * Who is signed in, asked once as the script starts; later changes come from the page's own
 * actions. 204 is "nobody": unlike /api/users/me it never answers 401, so a logged-out load logs
 * no failed request.
 */
async function signedInUser(): Promise<User | null> {
  const lang = initialLang();
  const res = await client(lang, () => undefined).request<{ user: User } | undefined>('GET', '/api/sessions/current');
  return res.ok && res.data ? res.data.user : null;
}

const root = document.getElementById('app');
if (root) {
  // The page is drawn once the answer is in, in place of the boot line: a header drawn for nobody
  // and redrawn for the user would shift everything below it as the page loads.
  void signedInUser().then((user) => {
    root.textContent = '';
    render(<App initialUser={user} />, root);
  });
}
