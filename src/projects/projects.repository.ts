import { sql, type Kysely } from 'kysely';
import { LIVE_LISTING_PREDICATE, LIVE_TITLE_PREDICATE } from '../db/index-predicates.ts';
import type { DB, Project } from '../db/schema.ts';
import type { VersionCondition } from './projects.preconditions.ts';

// Named, never `*` (see src/db/columns.ts).
const COLUMNS = ['id', 'owner_id', 'title', 'title_key', 'description', 'version', 'created_at', 'updated_at', 'deleted_at'] as const;

export interface NewProject {
  owner_id: string;
  title: string;
  title_key: string;
  description: string | null;
}

/**
 * Inserts the project unless the owner's partial unique index on the title key refuses it; then
 * nothing is returned and the caller looks up the holder. One statement on one shard when the
 * table is distributed by owner (a statement that also read the holder would not be, see
 * docs/scale-out.md), and the success path's only round trip.
 */
export function insertProjectUnlessTaken(db: Kysely<DB>, project: NewProject): Promise<Project | undefined> {
  return db
    .insertInto('projects')
    .values(project)
    .onConflict((oc) => oc.columns(['owner_id', 'title_key']).where(LIVE_TITLE_PREDICATE).doNothing())
    .returning(COLUMNS)
    .executeTakeFirst();
}

/** The owner's project, deleted or not. */
export function findProject(db: Kysely<DB>, ownerId: string, id: string): Promise<Project | undefined> {
  return db.selectFrom('projects').select(COLUMNS).where('id', '=', id).where('owner_id', '=', ownerId).executeTakeFirst();
}

/** The id of the owner's live project holding `titleKey`, to point a 409 at it. */
export async function findLiveProjectIdByTitle(db: Kysely<DB>, ownerId: string, titleKey: string): Promise<string | undefined> {
  const row = await db
    .selectFrom('projects')
    .select('id')
    .where('owner_id', '=', ownerId)
    .where('title_key', '=', titleKey)
    .where(LIVE_TITLE_PREDICATE)
    .executeTakeFirst();
  return row?.id;
}

export interface ListOptions {
  limit: number;
  after?: ListCursor;
  deleted: 'exclude' | 'include' | 'only';
  /** A title key the listed titles' keys contain. */
  titleKeyContains?: string;
}

/** Newest first, keyset-paginated on (created_at, id); fetches one extra row to tell if more follow. */
export function listProjects(db: Kysely<DB>, ownerId: string, options: ListOptions): Promise<Project[]> {
  let query = db.selectFrom('projects').select(COLUMNS).where('owner_id', '=', ownerId);
  if (options.deleted === 'exclude') query = query.where(LIVE_LISTING_PREDICATE);
  if (options.deleted === 'only') query = query.where('deleted_at', 'is not', null);
  // LIKE's own characters in the searched text stand for themselves.
  const { after, titleKeyContains } = options;
  if (titleKeyContains) query = query.where('title_key', 'like', `%${titleKeyContains.replace(/[\\%_]/g, '\\$&')}%`);
  if (after) query = query.where((eb) => eb(eb.refTuple('created_at', 'id'), '<', eb.tuple(after.createdAt, after.id)));
  return query
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(options.limit + 1)
    .execute();
}

/** Where a page of the listing starts: after this (created_at, id), newest first. */
export interface ListCursor {
  createdAt: Date;
  id: string;
}

export type ProjectChanges = Partial<Pick<Project, 'title' | 'title_key' | 'description'>>;

// The version check lives in the UPDATE's WHERE: no read-then-write window.
function updateLiveAt(db: Kysely<DB>, ownerId: string, id: string, versions: VersionCondition) {
  const query = db.updateTable('projects').where('id', '=', id).where('owner_id', '=', ownerId).where('deleted_at', 'is', null);
  if (versions === 'any') return query;
  return versions.length ? query.where('version', 'in', versions) : query.where(sql<boolean>`false`);
}

/**
 * Changes a live project at an accepted version and bumps the version, in one statement. Returns
 * nothing when the project is missing, deleted, or at another version.
 */
export function updateLiveProject(
  db: Kysely<DB>,
  ownerId: string,
  id: string,
  changes: ProjectChanges,
  versions: VersionCondition,
): Promise<Project | undefined> {
  return updateLiveAt(db, ownerId, id, versions)
    .set((eb) => ({ ...changes, version: eb('version', '+', 1), updated_at: eb.fn('now') }))
    .returning(COLUMNS)
    .executeTakeFirst();
}

/** Soft-deletes a live project at an accepted version; nothing when that does not apply. */
export function softDeleteProject(db: Kysely<DB>, ownerId: string, id: string, versions: VersionCondition): Promise<Project | undefined> {
  return updateLiveAt(db, ownerId, id, versions)
    .set((eb) => ({ deleted_at: eb.fn('now'), version: eb('version', '+', 1), updated_at: eb.fn('now') }))
    .returning(COLUMNS)
    .executeTakeFirst();
}

/** Brings a deleted project back; a live project with its title surfaces as a unique violation. */
export function restoreProject(db: Kysely<DB>, ownerId: string, id: string): Promise<Project | undefined> {
  return db
    .updateTable('projects')
    .set((eb) => ({ deleted_at: null, version: eb('version', '+', 1), updated_at: eb.fn('now') }))
    .where('id', '=', id)
    .where('owner_id', '=', ownerId)
    .where('deleted_at', 'is not', null)
    .returning(COLUMNS)
    .executeTakeFirst();
}
