import { useEffect, useRef, useState } from 'preact/hooks';
import type { ApiError, Project } from './api.ts';
import { fill, type Lang, type Messages } from './i18n.ts';
import { ConflictLink, conflictRoute, ErrorBox, Field, offFields, RequestDetails, useDraft, useEnv, useFocusHeading } from './ui.tsx';

type Filter = 'exclude' | 'only' | 'include';
const PAGE = 10;

/** Restores a deleted project; a live project holding the title is named, with a way to rename it. */
export function RestoreButton({
  project,
  label,
  onRestored,
}: {
  project: Project;
  label?: string;
  onRestored: (p: Project, etag: string | null) => void;
}) {
  const { t, api } = useEnv();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  async function restore() {
    setBusy(true);
    setError(null);
    const res = await api.request<Project>('POST', `/api/projects/${project.id}/restore`);
    setBusy(false);
    if (res.ok) onRestored(res.data, res.etag);
    else setError(res.error);
  }
  // A title held by a live project is answered as on a form's title field: said under the button, with the way to the holder.
  const held = conflictRoute(error) !== undefined;
  const statusId = `restore-${project.id}-status`;
  return (
    <div class="restore">
      <button
        type="button"
        disabled={busy}
        aria-busy={busy}
        aria-describedby={held ? `${statusId} ${statusId}-conflict` : undefined}
        onClick={() => void restore()}
      >
        {busy ? t.restoring : (label ?? t.restore)}
      </button>
      {held ? (
        <>
          <p id={statusId} class="status bad" role="alert">
            {t.restoreHeld}
          </p>
          <ConflictLink id={`${statusId}-conflict`} error={error} label={t.renameLive} />
        </>
      ) : (
        <ErrorBox error={error} />
      )}
    </div>
  );
}

/** The API sends every project's `updatedAt`; the page's shared type leaves it out. */
function lastChange(p: Project): string {
  return p.deletedAt ?? ('updatedAt' in p && typeof p.updatedAt === 'string' ? p.updatedAt : p.createdAt);
}

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ['second', 60],
  ['minute', 60],
  ['hour', 24],
  ['day', 7],
];

/** "3 minutes ago" up to a week back, then the date, in the page's language. */
function when(iso: string, lang: Lang, now: number): string {
  let amount = Math.max(1, Math.round((now - Date.parse(iso)) / 1000));
  const relative = new Intl.RelativeTimeFormat(lang, { numeric: 'auto' });
  for (const [unit, size] of UNITS) {
    if (amount < size) return relative.format(-amount, unit);
    amount = Math.round(amount / size);
  }
  return new Intl.DateTimeFormat(lang, { dateStyle: 'medium' }).format(new Date(iso));
}

function ProjectSummary({ project, t, lang, now }: { project: Project; t: Messages; lang: Lang; now: number }) {
  const at = lastChange(project);
  const deleted = project.deletedAt !== null;
  return (
    <div>
      <a href={`#/projects/${project.id}`}>{project.title}</a>
      <span class={`state ${deleted ? 'deleted' : 'live'}`}>{deleted ? t.deleted : t.live}</span>
      <p class={`small description${project.description ? '' : ' note'}`}>{project.description || t.noDescription}</p>
      <p class="small">
        <time dateTime={at} title={new Date(at).toLocaleString(lang)}>
          {fill(deleted ? t.deletedAt : t.changedAt, { when: when(at, lang, now) })}
        </time>
      </p>
    </div>
  );
}

/** How long typing in the search box pauses before the list is asked for again. */
const SEARCH_DELAY_MS = 300;

function CreateProject({ onCreated }: { onCreated: (p: Project) => void }) {
  const { t, api } = useEnv();
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const takeDraft = useDraft('new-project', { title, description });
  useEffect(() => {
    const kept = takeDraft();
    if (kept) {
      setTitle(kept.title);
      setDescription(kept.description);
    }
  }, []);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const res = await api.request<Project>('POST', '/api/projects', { json: { title, ...(description && { description }) } });
    setBusy(false);
    if (res.ok) {
      setTitle('');
      setDescription('');
      onCreated(res.data);
      return;
    }
    setError(res.error);
  }

  return (
    <form class="card" onSubmit={(e) => void submit(e)} noValidate aria-labelledby="new-project-title">
      <h2 id="new-project-title">{t.newProject}</h2>
      <Field
        id="project-title"
        label={t.title}
        value={title}
        onInput={(v) => {
          setTitle(v);
          setError(null);
        }}
        problem={{ error, field: 'title' }}
      />
      <Field
        id="project-description"
        label={t.description}
        value={description}
        onInput={setDescription}
        problem={{ error, field: 'description' }}
        multiline
      />
      <ErrorBox error={offFields(error, ['title', 'description'])} />
      {!offFields(error, ['title', 'description']) && <RequestDetails error={error} />}
      <button type="submit" class="primary" disabled={busy} aria-busy={busy}>
        {busy ? t.creating : t.create}
      </button>
    </form>
  );
}

export function Projects() {
  const { t, api, lang } = useEnv();
  const heading = useFocusHeading<HTMLHeadingElement>();
  const [filter, setFilter] = useState<Filter>('exclude');
  const [items, setItems] = useState<Project[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<ApiError | null>(null);
  const [search, setSearch] = useState('');
  // What the list was asked for: the search box's text once typing pauses.
  const [searched, setSearched] = useState('');
  useEffect(() => {
    const timer = setTimeout(() => {
      setSearched(search.trim());
    }, SEARCH_DELAY_MS);
    return () => {
      clearTimeout(timer);
    };
  }, [search]);
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    // "3 minutes ago" should not stay "1 second ago" on a page left open.
    const tick = setInterval(() => {
      setNow(Date.now());
    }, 30_000);
    return () => {
      clearInterval(tick);
    };
  }, []);

  const latest = useRef(0);

  async function load(from: string | null, replace: boolean) {
    const request = ++latest.current;
    setLoading(true);
    setError(null);
    const query = new URLSearchParams({ limit: String(PAGE), deleted: filter });
    // The API searches every project, not just the pages loaded here.
    if (searched) query.set('title', searched);
    if (from) query.set('cursor', from);
    const res = await api.request<Project[]>('GET', `/api/projects?${query.toString()}`);
    // A filter or search changed while this page was on its way: only the newest answer is the list.
    if (request !== latest.current) return;
    setLoading(false);
    if (!res.ok) {
      setError(res.error);
      return;
    }
    setItems((old) => (replace ? res.data : [...old, ...res.data]));
    setCursor(res.next);
    setNow(Date.now());
  }

  useEffect(() => {
    void load(null, true);
    // load reads the filter and search it was rendered with; a new one starts the list again.
  }, [filter, searched]);

  return (
    <section aria-labelledby="projects-title">
      <h1 id="projects-title" tabIndex={-1} ref={heading}>
        {t.projects}
      </h1>
      <CreateProject
        onCreated={(p) => {
          if (filter !== 'only') setItems((old) => [p, ...old]);
        }}
      />
      <div class="toolbar">
        <label for="project-filter">{t.show}</label>
        <select
          id="project-filter"
          value={filter}
          onChange={(e) => {
            setFilter(e.currentTarget.value as Filter);
          }}
        >
          <option value="exclude">{t.live}</option>
          <option value="only">{t.deleted}</option>
          <option value="include">{t.all}</option>
        </select>
        <label for="project-search">{t.searchTitle}</label>
        <input
          id="project-search"
          type="search"
          autocomplete="off"
          value={search}
          onInput={(e) => {
            setSearch(e.currentTarget.value);
          }}
        />
      </div>
      <ErrorBox error={error} />
      <ul class="projects" aria-busy={loading}>
        {items.map((p) => (
          <li key={p.id} class="card project">
            <ProjectSummary project={p} t={t} lang={lang} now={now} />
            {p.deletedAt && (
              <RestoreButton
                project={p}
                onRestored={(restored) => {
                  setItems((old) =>
                    filter === 'only' ? old.filter((x) => x.id !== p.id) : old.map((x) => (x.id === p.id ? restored : x)),
                  );
                }}
              />
            )}
          </li>
        ))}
      </ul>
      <p class="status" aria-live="polite">
        {loading ? t.loading : items.length === 0 && !error ? (searched ? t.searchNone : t.empty) : ''}
      </p>
      {cursor && !loading && (
        <button type="button" onClick={() => void load(cursor, false)}>
          {t.loadMore}
        </button>
      )}
    </section>
  );
}
