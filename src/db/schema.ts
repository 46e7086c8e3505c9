import type { Generated, Selectable } from 'kysely';

export interface UsersTable {
  id: Generated<string>;
  /** Canonical: trimmed, NFKC, lower-case. */
  username: string;
  /** Canonical: trimmed, lower-case. Null only for a user created from gateway claims without one. */
  email: string | null;
  nickname: string;
  /** argon2id; null for a user created from gateway claims who has not set a password. */
  password_hash: string | null;
  /** Whether the holder proved they read mail at `email` (a verification or reset link). */
  email_verified: Generated<boolean>;
  /** When the user took `email`: an unverified claim older than EMAIL_CLAIM_HOURS blocks nobody. */
  email_claimed_at: Generated<Date>;
  /** An address asked for by an email change, taking `email`'s place once verified. */
  pending_email: string | null;
  /** The account's language, for mail: the one its signup asked in. */
  locale: Generated<string>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
}

/** Names in use and released names still held (`held_until` set), by canonical name. */
export interface UsernamesTable {
  username: string;
  /** Who uses it, or who released it (the only one who may take it back while held). */
  user_id: string;
  held_until: Date | null;
}

/** Verification and reset links: the token's hash only, single-use, expiring. */
export interface EmailTokensTable {
  user_id: string;
  token_hash: string;
  purpose: 'verify' | 'reset';
  /** The address the link was sent to: a verification verifies this one. */
  email: string;
  created_at: Generated<Date>;
  expires_at: Date;
  used_at: Date | null;
}

export interface SessionsTable {
  /** SHA-256 of the token, hex; the token itself is never stored. */
  token_hash: string;
  user_id: string;
  created_at: Generated<Date>;
  last_seen_at: Generated<Date>;
  expires_at: Date;
}

export interface ProjectsTable {
  id: Generated<string>;
  owner_id: string;
  title: string;
  /** Canonical comparison key of the title (`titleKey` in src/canonical.ts). */
  title_key: string;
  description: string | null;
  version: Generated<number>;
  created_at: Generated<Date>;
  updated_at: Generated<Date>;
  deleted_at: Date | null;
}

export interface IdempotencyKeysTable {
  /**
   * Whose key it is: the user's id, or for signup a UUID derived from the client address
   * (`anonymousScope` in src/idempotency): the key sits on its user's shard, with their projects.
   */
  scope_id: string;
  key: string;
  /** SHA-256 of method, path and body: the same key with another request is refused. */
  fingerprint: string;
  created_at: Generated<Date>;
  /** The recorded outcome: status, JSON of the headers to replay, and body. */
  response_status: number;
  response_headers: string;
  response_body: string;
}

export interface RateLimitsTable {
  /** What is counted, and for whom: `signup:<ip>`, `login-failed:<login>`, … */
  bucket: string;
  window_start: Date;
  /** The latest hit: how far into its window the counter is, without calling now() (Citus). */
  hit_at: Date;
  hits: number;
}

/** Who an API Gateway authorizer said the caller is: the token's issuer and subject. */
export interface UserIdentitiesTable {
  issuer: string;
  subject: string;
  user_id: string;
  created_at: Generated<Date>;
}

/** The database as Kysely sees it. */
export interface DB {
  users: UsersTable;
  usernames: UsernamesTable;
  email_tokens: EmailTokensTable;
  user_identities: UserIdentitiesTable;
  sessions: SessionsTable;
  projects: ProjectsTable;
  idempotency_keys: IdempotencyKeysTable;
  rate_limits: RateLimitsTable;
}

/** A user row as the services see it. */
export type User = Selectable<UsersTable>;

/**
 * A user's columns, named, never `*` (see columnList): the users feature and the session lookup,
 * which joins users, select the same row shape.
 */
export const USER_COLUMNS = [
  'id',
  'username',
  'email',
  'nickname',
  'password_hash',
  'email_verified',
  'email_claimed_at',
  'pending_email',
  'locale',
  'created_at',
  'updated_at',
] as const;

/** A project row as the services see it. */
export type Project = Selectable<ProjectsTable>;
