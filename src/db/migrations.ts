import { Migrator, sql, type Kysely, type Migration } from 'kysely';
import { sqlState } from './driver-errors.ts';
import type { DB } from './schema.ts';

/** SQLSTATE 42P01: the migration table does not exist yet, so nothing was ever applied. */
const UNDEFINED_TABLE = '42P01';

/**
 * Schema history, applied in key order. Unique indexes are on canonical keys that the service
 * computes, and partial where soft delete applies, so the database alone decides duplicates.
 */
const MIGRATIONS: Record<string, Migration> = {
  '0001_users_sessions_projects': {
    async up(db) {
      await sql`
        create table users (
          id uuid primary key default gen_random_uuid(),
          username text not null,
          email text not null,
          nickname text not null,
          password_hash text not null,
          created_at timestamptz(3) not null default now(),
          updated_at timestamptz(3) not null default now()
        )`.execute(db);
      await sql`create unique index users_username_key on users (username)`.execute(db);
      await sql`create unique index users_email_key on users (email)`.execute(db);

      await sql`
        create table sessions (
          token_hash text primary key,
          user_id uuid not null references users (id) on delete cascade,
          created_at timestamptz(3) not null default now(),
          last_seen_at timestamptz(3) not null default now(),
          expires_at timestamptz(3) not null
        )`.execute(db);
      await sql`create index sessions_user_id on sessions (user_id)`.execute(db);

      await sql`
        create table projects (
          id uuid primary key default gen_random_uuid(),
          owner_id uuid not null references users (id) on delete cascade,
          title text not null,
          title_key text not null,
          description text,
          version integer not null default 1,
          created_at timestamptz(3) not null default now(),
          updated_at timestamptz(3) not null default now(),
          deleted_at timestamptz(3)
        )`.execute(db);
      // `title_key IS NOT NULL` is always true; only lookups by title state it, so the planner
      // cannot serve the project listing from this index (and sort) when statistics are stale,
      // as they always are on PGlite, which runs no autovacuum.
      await sql`
        create unique index projects_owner_title_key on projects (owner_id, title_key)
        where deleted_at is null and title_key is not null`.execute(db);
      await sql`create index projects_owner_created on projects (owner_id, created_at desc, id desc)`.execute(db);
    },
  },
  '0002_idempotency_keys': {
    async up(db) {
      await sql`
        create table idempotency_keys (
          scope text not null,
          key text not null,
          fingerprint text not null,
          created_at timestamptz(3) not null default now(),
          locked_at timestamptz(3) not null default now(),
          response_status integer,
          response_headers text,
          response_body text,
          primary key (scope, key)
        )`.execute(db);
      await sql`create index idempotency_keys_created_at on idempotency_keys (created_at)`.execute(db);
    },
  },
  '0003_rate_limits': {
    async up(db) {
      await sql`
        create table rate_limits (
          bucket text primary key,
          window_start timestamptz not null,
          hits integer not null
        )`.execute(db);
      await sql`create index rate_limits_window_start on rate_limits (window_start)`.execute(db);
    },
  },
  '0004_projects_live_listing': {
    async up(db) {
      // The live listing's ordered index. The extra `created_at IS NOT NULL` (always true) is
      // stated by the listing query only, so a lookup by title cannot be steered onto this index
      // by stale statistics; the title index excludes the listing the same way (0001).
      await sql`
        create index projects_owner_live_created on projects (owner_id, created_at desc, id desc)
        where deleted_at is null and created_at is not null`.execute(db);
    },
  },
  '0005_gateway_identities': {
    async up(db) {
      // A user created from an API Gateway authorizer's claims may have no email (the token
      // carried none, or it was taken) and has no password until they set one.
      await sql`alter table users alter column email drop not null`.execute(db);
      await sql`alter table users alter column password_hash drop not null`.execute(db);
      await sql`
        create table user_identities (
          issuer text not null,
          subject text not null,
          user_id uuid not null references users (id) on delete cascade,
          created_at timestamptz(3) not null default now()
        )`.execute(db);
      await sql`create unique index user_identities_issuer_subject_key on user_identities (issuer, subject)`.execute(db);
      await sql`create index user_identities_user_id on user_identities (user_id)`.execute(db);
    },
  },
};

/**
 * Brings the schema to the latest version. Kysely's migrator runs in one transaction holding a
 * PostgreSQL advisory lock (`pg_advisory_lock`), so several instances starting at once apply each
 * migration exactly once: the others wait for the lock, then find nothing left to do. Returns the
 * names of the migrations this call applied.
 */
export async function migrate(db: Kysely<DB>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: () => Promise.resolve(MIGRATIONS) } });
  const { error, results = [] } = await migrator.migrateToLatest();
  if (error instanceof Error) throw error;
  if (error !== undefined) throw new Error('Migration failed', { cause: error });
  return results.map((r) => r.migrationName);
}

/**
 * The migrations this code knows that the database has not applied, oldest first; empty when the
 * schema is current. One query, so a Lambda cold start can afford it where migrating is not its job.
 */
export async function pendingMigrations(db: Kysely<DB>): Promise<string[]> {
  let applied: Set<string>;
  try {
    const { rows } = await sql<{ name: string }>`select name from kysely_migration`.execute(db);
    applied = new Set(rows.map((r) => r.name));
  } catch (err) {
    if (sqlState(err) !== UNDEFINED_TABLE) throw err;
    applied = new Set();
  }
  return Object.keys(MIGRATIONS)
    .sort()
    .filter((name) => !applied.has(name));
}
