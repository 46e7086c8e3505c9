import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { Account } from './account.tsx';
import { client, type User } from './api.ts';
import { fill, MESSAGES, preferredLang, type Lang } from './i18n.ts';
import { Login } from './login.tsx';
import { ProjectPage } from './project.tsx';
import { Projects } from './projects.tsx';
import { Signup } from './signup.tsx';
import { EnvContext, useEnv } from './ui.tsx';

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
      <p class="brand">{t.appName}</p>
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
      {user && <p class="small who">{fill(t.signedInAs, { name: user.nickname })}</p>}
    </header>
  );
}

function App({ initialUser }: { initialUser: User | null }) {
  const [lang, setLang] = useState<Lang>(initialLang);
  const t = MESSAGES[lang];
  const api = useMemo(() => client(lang, t.offline), [lang, t]);
  const env = useMemo(() => ({ lang, t, api }), [lang, t, api]);
  const [user, setUser] = useState<User | null>(initialUser);
  const hash = useHash();

  useEffect(() => {
    document.documentElement.lang = lang;
    document.title = t.appName;
  }, [lang, t]);

  const signedIn = (u: User) => {
    setUser(u);
    go('#/projects');
  };
  const signedOut = () => {
    setUser(null);
    go('#/login');
  };

  let view;
  const projectId = /^#\/projects\/([0-9a-f-]{36})$/.exec(hash)?.[1];
  if (!user) view = hash === '#/login' ? <Login onSignedIn={signedIn} /> : <Signup onSignedIn={signedIn} />;
  else if (projectId) view = <ProjectPage key={projectId} id={projectId} />;
  else if (hash === '#/account') view = <Account user={user} onChanged={setUser} onDeleted={signedOut} />;
  else view = <Projects />;

  const route = user === null && hash !== '#/login' ? '#/signup' : user && !hash.startsWith('#/account') ? '#/projects' : hash;
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
      <main>{view}</main>
    </EnvContext.Provider>
  );
}

/**
 * Who is signed in, asked once as the script starts; later changes come from the page's own
 * actions. 204 is "nobody": unlike /api/users/me it never answers 401, so a logged-out load logs
 * no failed request.
 */
async function signedInUser(): Promise<User | null> {
  const lang = initialLang();
  const res = await client(lang, MESSAGES[lang].offline).request<{ user: User } | undefined>('GET', '/api/sessions/current');
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
