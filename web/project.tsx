import { useEffect, useState } from 'preact/hooks';
import type { ApiError, Project, Result } from './api.ts';
import { RestoreButton } from './projects.tsx';
import { ErrorBox, Field, offFields, RequestDetails, useDraft, useEnv, useFocusHeading } from './ui.tsx';

/** One project: edit with If-Match, delete with undo, restore. */
export function ProjectPage({ id }: { id: string }) {
  const { t, api } = useEnv();
  const heading = useFocusHeading<HTMLHeadingElement>();
  const [project, setProject] = useState<Project | null>(null);
  const [etag, setEtag] = useState<string | null>(null);
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const [stale, setStale] = useState(false);
  const [notice, setNotice] = useState('');
  const [justDeleted, setJustDeleted] = useState(false);
  const takeDraft = useDraft(`project:${id}`, { title, description });

  function show(p: Project, tag: string | null, keepEdits = false) {
    setProject(p);
    setEtag(tag);
    if (!keepEdits) {
      setTitle(p.title);
      setDescription(p.description ?? '');
    }
  }

  async function fetchCurrent(): Promise<Result<Project>> {
    const res = await api.request<Project>('GET', `/api/projects/${id}`);
    if (res.ok) return res;
    setError(res.error);
    return res;
  }

  useEffect(() => {
    void fetchCurrent().then((res) => {
      if (!res.ok) return;
      show(res.data, res.etag);
      const kept = takeDraft();
      if (kept) {
        setTitle(kept.title);
        setDescription(kept.description);
      }
    });
  }, [id]);

  /** Any write: a 412 means another tab or person got there first. */
  function failed(res: Result<unknown>) {
    if (res.ok) return;
    setError(res.error);
    setStale(res.status === 412);
  }

  async function save(tag: string | null) {
    setBusy(true);
    setError(null);
    setNotice('');
    const res = await api.request<Project>('PATCH', `/api/projects/${id}`, {
      json: { title, description: description === '' ? null : description },
      ifMatch: tag,
    });
    setBusy(false);
    if (!res.ok) {
      failed(res);
      return;
    }
    setStale(false);
    show(res.data, res.etag);
    setNotice(t.saved);
  }

  async function reload() {
    setError(null);
    setStale(false);
    const res = await fetchCurrent();
    if (res.ok) show(res.data, res.etag);
  }

  async function overwrite() {
    const res = await fetchCurrent();
    if (res.ok) {
      show(res.data, res.etag, true);
      await save(res.etag);
    }
  }

  async function remove() {
    setBusy(true);
    setError(null);
    setNotice('');
    const res = await api.request('DELETE', `/api/projects/${id}`, { ifMatch: etag });
    setBusy(false);
    if (!res.ok) {
      failed(res);
      return;
    }
    const current = await fetchCurrent();
    if (current.ok) show(current.data, current.etag);
    setJustDeleted(true);
  }

  if (!project) {
    return (
      <section aria-labelledby="project-title-heading">
        <h1 id="project-title-heading" tabIndex={-1} ref={heading}>
          {t.editProject}
        </h1>
        <p class="status" aria-live="polite">
          {error ? '' : t.loading}
        </p>
        <ErrorBox error={error} />
        <p>
          <a href="#/projects">{t.backToList}</a>
        </p>
      </section>
    );
  }

  const fieldError = stale ? null : error;
  const deleted = project.deletedAt !== null;
  return (
    <section aria-labelledby="project-title-heading">
      <p>
        <a href="#/projects">{t.backToList}</a>
      </p>
      <h1 id="project-title-heading" tabIndex={-1} ref={heading}>
        {project.title}
      </h1>
      <p class="status ok" aria-live="polite">
        {justDeleted && deleted ? t.deletedNotice : notice}
      </p>
      {deleted ? (
        <div class="card">
          {!justDeleted && <p>{t.deletedState}</p>}
          <RestoreButton
            project={project}
            label={justDeleted ? t.undo : t.restore}
            onRestored={(p, tag) => {
              setJustDeleted(false);
              show(p, tag);
            }}
          />
        </div>
      ) : (
        <form
          class="card"
          noValidate
          aria-label={t.editProject}
          onSubmit={(e) => {
            e.preventDefault();
            void save(etag);
          }}
        >
          <Field id="edit-title" label={t.title} value={title} onInput={setTitle} problem={{ error: fieldError, field: 'title' }}>
            {fieldError && !offFields(fieldError, ['title']) && <RequestDetails error={fieldError} />}
          </Field>
          <Field
            id="edit-description"
            label={t.description}
            value={description}
            onInput={setDescription}
            problem={{ error: fieldError, field: 'description' }}
            multiline
          />
          {stale ? (
            <div class="alert" role="alert">
              <p>{t.staleTitle}</p>
              <RequestDetails error={error} />
              <div class="actions">
                <button type="button" onClick={() => void reload()}>
                  {t.reload}
                </button>
                <button type="button" onClick={() => void overwrite()}>
                  {t.overwrite}
                </button>
              </div>
            </div>
          ) : (
            <ErrorBox error={offFields(fieldError, ['title', 'description'])} />
          )}
          <div class="actions">
            <button type="submit" class="primary" disabled={busy} aria-busy={busy}>
              {busy ? t.saving : t.save}
            </button>
            <button type="button" class="danger" disabled={busy} onClick={() => void remove()}>
              {t.delete}
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
