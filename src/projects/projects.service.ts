import type { Kysely } from 'kysely';
import { titleKey } from '../canonical.ts';
import type { DB, Project } from '../db/schema.ts';
import { uniqueConflict } from '../db/unique-indexes.ts';
import { savepoint } from '../db/transaction.ts';
import { AppError, validationError } from '../errors/app-error.ts';
import {
  findLiveProjectIdByTitle,
  findProject,
  insertProjectUnlessTaken,
  listProjects,
  restoreProject,
  softDeleteProject,
  updateLiveProject,
  type ListCursor,
  type ProjectChanges,
} from './projects.repository.ts';
import type { VersionCondition } from './projects.preconditions.ts';
import { userExists } from '../users/users.repository.ts';

/** The URL of a project. */
export function projectLocation(id: string): string {
  return `/api/projects/${id}`;
}

/** The 409 for a title held by a live project, pointing at the holder when it is known. */
function duplicateTitle(holder: string | undefined): AppError {
  return new AppError('DUPLICATE_RESOURCE', {
    text: 'duplicate.title',
    field: 'title',
    ...(holder && { conflict: { id: holder, location: projectLocation(holder) } }),
  });
}

/**
 * Turns a title unique violation into a 409 pointing at the live project that holds the title;
 * any other error is returned unchanged.
 */
async function titleConflict(db: Kysely<DB>, err: unknown, ownerId: string, key: string): Promise<unknown> {
  const conflict = uniqueConflict(err);
  if (conflict?.resource !== 'project' || conflict.field !== 'title') return err;
  return duplicateTitle(await findLiveProjectIdByTitle(db, ownerId, key));
}

/**
 * Creates a project in one statement; the partial unique index alone decides a duplicate title,
 * and only then a second statement names the holder for the 409.
 */
export async function createProject(
  db: Kysely<DB>,
  ownerId: string,
  input: { title: string; description?: string | undefined },
): Promise<Project> {
  const key = titleKey(input.title);
  const created = await insertProjectUnlessTaken(db, {
    owner_id: ownerId,
    title: input.title,
    title_key: key,
    description: input.description ?? null,
  });
  if (created) return created;
  throw duplicateTitle(await findLiveProjectIdByTitle(db, ownerId, key));
}

/**
 * The answer to a read of the owner's that found nothing: 404, unless the owner is gone, deleted
 * under the request (on another instance, whose deletion this instance's cache has not heard of
 * yet); then the 401 the request would get a moment later (§6). Costs a read only on this path.
 */
async function notFound(db: Kysely<DB>, ownerId: string): Promise<AppError> {
  return new AppError((await userExists(db, ownerId)) ? 'NOT_FOUND_RESOURCE' : 'UNAUTHENTICATED');
}

export async function getProject(db: Kysely<DB>, ownerId: string, id: string): Promise<Project> {
  const project = await findProject(db, ownerId, id);
  if (!project) throw await notFound(db, ownerId);
  return project;
}

function encodeCursor(p: Project): string {
  return Buffer.from(JSON.stringify([p.created_at.toISOString(), p.id])).toString('base64url');
}

/** One page of the owner's projects, newest first, and the cursor of the next page if any. */
export async function listOwnProjects(
  db: Kysely<DB>,
  ownerId: string,
  query: { limit: number; cursor?: ListCursor | undefined; deleted: 'exclude' | 'include' | 'only'; title?: string | undefined },
): Promise<{ items: Project[]; nextCursor: string | null }> {
  const after = query.cursor;
  const titleKeyContains = query.title === undefined ? '' : titleKey(query.title);
  const rows = await listProjects(db, ownerId, {
    limit: query.limit,
    deleted: query.deleted,
    ...(after && { after }),
    ...(titleKeyContains && { titleKeyContains }),
  });
  // An empty page may be an owner deleted under the request, whose projects went with them (§6).
  if (rows.length === 0 && !(await userExists(db, ownerId))) throw new AppError('UNAUTHENTICATED');
  const items = rows.slice(0, query.limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > query.limit && last ? encodeCursor(last) : null };
}

/**
 * Explains why a conditional write matched no row: 404 if there is no such project (401 if its
 * owner is gone, see notFound), 412 if `If-Match` names another version, else the project's state
 * (deleted) forbids it.
 */
async function whyNotWritten(
  db: Kysely<DB>,
  ownerId: string,
  id: string,
  versions: VersionCondition | undefined,
): Promise<AppError | Project> {
  const current = await findProject(db, ownerId, id);
  if (!current) return notFound(db, ownerId);
  if (versions !== undefined && versions !== 'any' && !versions.includes(current.version)) return new AppError('PRECONDITION_FAILED');
  return current;
}

/** Renames or re-describes a live project; `versions` from `If-Match` is checked inside the UPDATE. */
export async function updateProject(
  db: Kysely<DB>,
  ownerId: string,
  id: string,
  patch: { title?: string | undefined; description?: string | null | undefined },
  versions: VersionCondition | undefined,
): Promise<Project> {
  const changes: ProjectChanges = {};
  if (patch.title !== undefined) Object.assign(changes, { title: patch.title, title_key: titleKey(patch.title) });
  if (patch.description !== undefined) changes.description = patch.description;
  if (Object.keys(changes).length === 0) throw validationError([{ field: 'body', code: 'empty_patch' }]);
  let updated: Project | undefined;
  try {
    updated = await updateLiveProject(db, ownerId, id, changes, versions ?? 'any');
  } catch (err) {
    throw await titleConflict(db, err, ownerId, changes.title_key ?? '');
  }
  if (updated) return updated;
  const current = await whyNotWritten(db, ownerId, id, versions);
  if (current instanceof AppError) throw current;
  throw current.deleted_at
    ? new AppError('RESOURCE_STATE_CONFLICT', { text: 'state.projectDeleted' })
    : new AppError('RESOURCE_STATE_CONFLICT');
}

/** Soft-deletes a project; deleting a deleted project again succeeds. */
export async function deleteProject(db: Kysely<DB>, ownerId: string, id: string, versions: VersionCondition | undefined): Promise<void> {
  if (await softDeleteProject(db, ownerId, id, versions ?? 'any')) return;
  const current = await whyNotWritten(db, ownerId, id, versions);
  if (current instanceof AppError) throw current;
  if (!current.deleted_at) throw new AppError('RESOURCE_STATE_CONFLICT');
}

/**
 * Brings a deleted project back (a live one is returned as it is); 409 if its title is taken
 * again; 404, or 401 for an owner deleted under the request, if there is no such project.
 */
export async function restoreOwnProject(db: Kysely<DB>, ownerId: string, id: string): Promise<Project> {
  let restored: Project | undefined;
  try {
    restored = await savepoint(db, (sp) => restoreProject(sp, ownerId, id));
  } catch (err) {
    const current = await findProject(db, ownerId, id);
    throw await titleConflict(db, err, ownerId, current?.title_key ?? '');
  }
  return restored ?? getProject(db, ownerId, id);
}
