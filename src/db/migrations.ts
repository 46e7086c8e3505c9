import { Migrator, sql, type Kysely, type Migration } from 'kysely';
import { canonicalEmail, EMAIL_SHAPE, titleKey } from '../canonical.ts';
import { sqlState } from './driver-errors.ts';
import { LIVE_LISTING_PREDICATE, LIVE_TITLE_PREDICATE } from './index-predicates.ts';
import type { DB } from './schema.ts';
import { UNIQUE_INDEXES } from './unique-indexes.ts';

/** SQLSTATE 42P01: the migration table does not exist yet, so nothing was ever applied. */
const UNDEFINED_TABLE = '42P01';

/** Rows read per query while a migration rewrites stored values in TypeScript. */
const BATCH_SIZE = 500;

/** The ids of every row of `table`, oldest first ((created_at, id)), a batch at a time. */
async function* oldestFirst(db: Kysely<DB>, table: 'projects' | 'users'): AsyncGenerator<string[]> {
  let after: { created_at: Date; id: string } | undefined;
  for (;;) {
    let query = db.selectFrom(table).select(['id', 'created_at']).orderBy('created_at').orderBy('id').limit(BATCH_SIZE);
    if (after) {
      const { created_at, id } = after;
      query = query.where((eb) => eb(eb.refTuple('created_at', 'id'), '>', eb.tuple(created_at, id)));
    }
    const rows = await query.execute();
    if (rows.length > 0) yield rows.map((r) => r.id);
    if (rows.length < BATCH_SIZE) return;
    after = rows.at(-1);
  }
}

/** Whether another live project of the owner holds `key`. */
async function liveTitleTaken(db: Kysely<DB>, ownerId: string, key: string): Promise<boolean> {
  const row = await db
    .selectFrom('projects')
    .select('id')
    .where('owner_id', '=', ownerId)
    .where('title_key', '=', key)
    .where(LIVE_TITLE_PREDICATE)
    .executeTakeFirst();
  return row !== undefined;
}

/**
 * Gives every project the current `titleKey`, oldest first. A live project whose new key another
 * live project of its owner already holds keeps its title with " (n)" appended, the smallest
 * n ≥ 2 whose key is free, and a new version; nothing of a title is cut, even past 100 characters.
 */
async function recomputeTitleKeys(db: Kysely<DB>): Promise<void> {
  for await (const ids of oldestFirst(db, 'projects')) {
    const rows = await db
      .selectFrom('projects')
      .select(['id', 'owner_id', 'title', 'title_key', 'deleted_at'])
      .where('id', 'in', ids)
      .execute();
    const byId = new Map(rows.map((r) => [r.id, r]));
    for (const id of ids) {
      const row = byId.get(id);
      if (!row) continue;
      const key = titleKey(row.title);
      if (key === row.title_key) continue;
      if (row.deleted_at !== null || !(await liveTitleTaken(db, row.owner_id, key))) {
        await db.updateTable('projects').set({ title_key: key }).where('id', '=', id).execute();
        continue;
      }
      let n = 2;
      while (await liveTitleTaken(db, row.owner_id, titleKey(`${row.title} (${n})`))) n++;
      const title = `${row.title} (${n})`;
      await db
        .updateTable('projects')
        .set({ title, title_key: titleKey(title), version: sql<number>`version + 1`, updated_at: sql<Date>`now()` })
        .where('id', '=', id)
        .execute();
    }
  }
}

/**
 * Gives every email its current canonical form, oldest account first, where that form is still a
 * plausible address and no other account holds it; otherwise the stored address stays as it is
 * (it then no longer serves to log in by email; the username does).
 */
async function recomputeEmails(db: Kysely<DB>): Promise<void> {
  for await (const ids of oldestFirst(db, 'users')) {
    const rows = await db.selectFrom('users').select(['id', 'email']).where('id', 'in', ids).where('email', 'is not', null).execute();
    const byId = new Map(rows.map((r) => [r.id, r.email]));
    for (const id of ids) {
      const stored = byId.get(id);
      if (stored === undefined || stored === null) continue;
      const email = canonicalEmail(stored);
      if (email === stored || !EMAIL_SHAPE.test(email)) continue;
      await sql`
        update users set email = ${email}
        where id = ${id} and not exists (select 1 from users where email = ${email})`.execute(db);
    }
  }
}

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
      await sql`create unique index ${sql.id(UNIQUE_INDEXES.username.name)} on users (username)`.execute(db);
      await sql`create unique index ${sql.id(UNIQUE_INDEXES.email.name)} on users (email)`.execute(db);

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
      // The predicate's always-true `title_key IS NOT NULL` keeps the listing off this index (see
      // index-predicates.ts).
      await sql`
        create unique index ${sql.id(UNIQUE_INDEXES.projectTitle.name)} on projects (owner_id, title_key)
        where ${LIVE_TITLE_PREDICATE}`.execute(db);
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
      // The live listing's ordered index. Superseded by 0006: PostgreSQL 17 drops the listing's
      // always-true `created_at IS NOT NULL` (the column is NOT NULL) before it matches partial
      // indexes, so the listing could not use this one there.
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
      await sql`create unique index ${sql.id(UNIQUE_INDEXES.gatewayIdentity.name)} on user_identities (issuer, subject)`.execute(db);
      await sql`create index user_identities_user_id on user_identities (user_id)`.execute(db);
    },
  },
  '0006_projects_live_listing_pg17': {
    async up(db) {
      // 0004's index with an always-true term that PostgreSQL 17 keeps (see index-predicates.ts).
      await sql`drop index projects_owner_live_created`.execute(db);
      await sql`
        create index projects_owner_live_created on projects (owner_id, created_at desc, id desc)
        where ${LIVE_LISTING_PREDICATE}`.execute(db);
    },
  },
  '0007_idempotency_outcomes_only': {
    async up(db) {
      // A key is now written once, with its outcome, in the transaction of the write it records:
      // no row is a claim in progress any more. A claim left by the old scheme recorded nothing,
      // so a retry of it runs anew.
      await sql`delete from idempotency_keys where response_status is null`.execute(db);
      await sql`
        alter table idempotency_keys
          drop column locked_at,
          alter column response_status set not null,
          alter column response_headers set not null,
          alter column response_body set not null`.execute(db);
    },
  },
  '0008_unicode_canonical_keys': {
    async up(db: Kysely<DB>) {
      // Title keys now ignore default-ignorable code points and fold NFKC + case fully; emails
      // fold NFKC and UTS 46. Both are computed in TypeScript, so stored rows are rewritten here.
      await recomputeTitleKeys(db);
      await recomputeEmails(db);
    },
  },
  '0009_distributable_keys': {
    async up(db: Kysely<DB>) {
      // Every unique key now holds the column a distributed PostgreSQL (Citus) places rows by,
      // and every row one request writes has the same value there: the user's id. The tables are
      // the same everywhere; with the citus extension installed they are then distributed.
      // `id` first: a primary key led by the owner would compete with the listing's ordered
      // indexes for the owner's rows, and serve them worse (a sort).
      await sql`alter table projects drop constraint projects_pkey, add primary key (id, owner_id)`.execute(db);
      // A token of the earlier shape names no user and is found by its hash alone until it expires.
      await sql`alter table sessions drop constraint sessions_pkey, add primary key (user_id, token_hash)`.execute(db);
      await sql`drop index sessions_user_id`.execute(db);
      await sql`create index sessions_token_hash on sessions (token_hash)`.execute(db);
      // A key's scope becomes a UUID: the user's id, or the SHA-256 of `anon:<address>` for signup
      // (anonymousScope in src/idempotency/idempotency.repository.ts computes the same).
      await sql`alter table idempotency_keys add column scope_id uuid`.execute(db);
      await sql`
        update idempotency_keys set scope_id = case
          when scope like 'user:%' then substr(scope, 6)::uuid
          else substr(encode(sha256(convert_to(scope, 'UTF8')), 'hex'), 1, 32)::uuid
        end`.execute(db);
      await sql`
        alter table idempotency_keys
          drop constraint idempotency_keys_pkey,
          drop column scope,
          alter column scope_id set not null,
          add primary key (scope_id, key)`.execute(db);
      // The latest hit's time, so that the counter's upsert needs no now() past its VALUES.
      await sql`alter table rate_limits add column hit_at timestamptz`.execute(db);
      await sql`update rate_limits set hit_at = window_start`.execute(db);
      await sql`alter table rate_limits alter column hit_at set not null`.execute(db);
      await distributeOnCitus(db);
    },
  },
  '0010_verified_emails_held_usernames': {
    async up(db: Kysely<DB>) {
      // Accounts from before had no way to verify; they keep what they hold (docs/spec.md §6).
      await sql`
        alter table users
          add column email_verified boolean not null default true,
          add column email_claimed_at timestamptz not null default now(),
          add column pending_email text,
          add column locale text not null default 'ko'`.execute(db);
      await sql`alter table users alter column email_verified set default false`.execute(db);
      // Every username in use and every released one still held, keyed by the canonical name: its
      // primary key decides who may take a name, held or not, the way users_username_key decides
      // among names in use.
      await sql`
        create table usernames (
          username text primary key,
          user_id uuid not null,
          held_until timestamptz
        )`.execute(db);
      await sql`insert into usernames (username, user_id) select username, id from users`.execute(db);
      await sql`
        create table email_tokens (
          user_id uuid not null,
          token_hash text not null,
          purpose text not null,
          email text not null,
          created_at timestamptz not null default now(),
          expires_at timestamptz not null,
          used_at timestamptz,
          primary key (user_id, token_hash)
        )`.execute(db);
      const { rows } = await sql<{ citus: boolean }>`select exists (select 1 from pg_extension where extname = 'citus') as citus`.execute(
        db,
      );
      if (rows[0]?.citus) {
        await sql`set local citus.multi_shard_modify_mode to 'sequential'`.execute(db);
        await sql`select create_reference_table('usernames')`.execute(db);
        await sql`select create_distributed_table('email_tokens', 'user_id', colocate_with => 'projects')`.execute(db);
      }
      await sql`
        alter table email_tokens add constraint email_tokens_user_id_fkey
        foreign key (user_id) references users (id) on delete cascade`.execute(db);
    },
  },
};

/**
 * With the citus extension installed, places every table across the cluster (docs/scale-out.md):
 * users on every node (a reference table: usernames and emails stay globally unique, and every
 * request's session check joins its user locally); projects, sessions and idempotency outcomes by
 * user, on one shard together, so a request's writes are one single-shard transaction; gateway
 * identities and rate-limit counters by the value they are looked up by. The foreign keys are
 * dropped while the tables move and added back once both ends are distributed.
 */
async function distributeOnCitus(db: Kysely<DB>): Promise<void> {
  const { rows } = await sql<{ citus: boolean }>`select exists (select 1 from pg_extension where extname = 'citus') as citus`.execute(db);
  if (!rows[0]?.citus) return;
  const references = [
    { table: 'projects', column: 'owner_id', name: 'projects_owner_id_fkey' },
    { table: 'sessions', column: 'user_id', name: 'sessions_user_id_fkey' },
    { table: 'user_identities', column: 'user_id', name: 'user_identities_user_id_fkey' },
  ];
  // One connection per worker for the rest of the migration's transaction: a foreign key to a
  // reference table cannot be added after parallel work on distributed tables in one transaction.
  await sql`set local citus.multi_shard_modify_mode to 'sequential'`.execute(db);
  for (const r of references) await sql`alter table ${sql.table(r.table)} drop constraint ${sql.id(r.name)}`.execute(db);
  await sql`select create_reference_table('users')`.execute(db);
  await sql`select create_distributed_table('projects', 'owner_id')`.execute(db);
  await sql`select create_distributed_table('sessions', 'user_id', colocate_with => 'projects')`.execute(db);
  await sql`select create_distributed_table('idempotency_keys', 'scope_id', colocate_with => 'projects')`.execute(db);
  await sql`select create_distributed_table('user_identities', 'subject')`.execute(db);
  await sql`select create_distributed_table('rate_limits', 'bucket', colocate_with => 'user_identities')`.execute(db);
  for (const r of references) {
    await sql`
      alter table ${sql.table(r.table)} add constraint ${sql.id(r.name)}
      foreign key (${sql.ref(r.column)}) references users (id) on delete cascade`.execute(db);
  }
}

/** The advisory lock id every instance's migration run takes (any fixed 64-bit value). */
const MIGRATION_LOCK = 7_307_091_254_813_117_001n;

/** How often a run that finds another instance migrating asks again, and for how long. */
const LOCK_POLL_MS = 200;
const LOCK_WAIT_MS = 60 * 60 * 1_000;

/**
 * Brings the schema to the latest version (or to `target`, a migration's name, for tests that seed
 * an older schema), in one transaction: several instances starting at once apply each migration
 * exactly once; the others wait, then find nothing left to do. Returns the names of the migrations
 * this call applied.
 *
 * Kysely's migrator takes a session-level advisory lock before its transaction and releases it
 * after. Behind a transaction pooler those three statements may run on three server connections,
 * which leaves the lock held on one of them and every later migration waiting for it. So the lock
 * here is a transaction lock, taken first in the migration's own transaction (the dialect drops
 * Kysely's: src/db/resilient-dialect.ts), and it is asked for without waiting,
 * again and again, so that no statement waits past DB_STATEMENT_TIMEOUT_MS while another instance
 * migrates.
 */
export async function migrate(db: Kysely<DB>, target?: string): Promise<string[]> {
  return db.connection().execute(async (connection) => {
    await sql`begin`.execute(connection);
    try {
      await lockMigrations(connection);
      const migrator = new Migrator({
        db: connection,
        provider: { getMigrations: () => Promise.resolve(MIGRATIONS) },
        disableTransactions: true,
      });
      const { error, results = [] } = await (target === undefined ? migrator.migrateToLatest() : migrator.migrateTo(target));
      if (error instanceof Error) throw error;
      if (error !== undefined) throw new Error('Migration failed', { cause: error });
      await sql`commit`.execute(connection);
      return results.map((r) => r.migrationName);
    } catch (err) {
      await sql`rollback`.execute(connection).catch(() => undefined);
      throw err;
    }
  });
}

async function lockMigrations(db: Kysely<DB>): Promise<void> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    const { rows } = await sql<{ locked: boolean }>`select pg_try_advisory_xact_lock(${MIGRATION_LOCK}::bigint) as locked`.execute(db);
    if (rows[0]?.locked) return;
    if (Date.now() > deadline) throw new Error(`Another instance held the migration lock for ${LOCK_WAIT_MS / 60_000} minutes`);
    await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
  }
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
