import { useEffect, useState } from 'preact/hooks';

export type Theme = 'light' | 'dark';

const THEME_KEY = 'theme';
// The page's module runs only in a browser.
const systemDark = matchMedia('(prefers-color-scheme: dark)');

/** The person's own choice; without one the system's preference rules, through CSS alone. */
function storedTheme(): Theme | null {
  const chosen = localStorage.getItem(THEME_KEY);
  return chosen === 'light' || chosen === 'dark' ? chosen : null;
}

/**
 * Sets `data-theme` on the root before the app first renders. The CSP allows no inline script,
 * so this runs from the page's module script, as early as that can be.
 */
export function applyStoredTheme(): void {
  const theme = storedTheme();
  if (theme) document.documentElement.dataset.theme = theme;
}

/** The theme in effect, following the system until the person picks one, which is remembered. */
export function useTheme(): [Theme, (theme: Theme) => void] {
  const [chosen, setChosen] = useState<Theme | null>(storedTheme);
  const [dark, setDark] = useState(systemDark.matches);
  useEffect(() => {
    const onChange = (e: MediaQueryListEvent) => {
      setDark(e.matches);
    };
    systemDark.addEventListener('change', onChange);
    return () => {
      systemDark.removeEventListener('change', onChange);
    };
  }, []);
  const choose = (theme: Theme) => {
    localStorage.setItem(THEME_KEY, theme);
    document.documentElement.dataset.theme = theme;
    setChosen(theme);
  };
  return [chosen ?? (dark ? 'dark' : 'light'), choose];
}
