import type { LogEvent } from 'kysely';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PoolStats } from '../db/database.ts';
import { sqlState } from '../db/driver-errors.ts';
import type { AppError } from '../errors/app-error.ts';

/** Why the database could not serve a 503'd request; the `cause` label of `service_unavailable_total`. */
export type UnavailableCause = 'unreachable' | 'read_only' | 'pool_exhausted' | 'timeout' | 'contention' | 'other';

const CAUSES: readonly UnavailableCause[] = ['unreachable', 'read_only', 'pool_exhausted', 'timeout', 'contention', 'other'];

/** The rate limits of src/config.ts, by the name their 429 carries (`limit` label). */
const LIMITS: readonly string[] = ['signup', 'availability', 'login', 'login_failures', 'password_reset', 'mail'];

// The fields whose duplicates the services report, by the resource that holds them. A field not
// listed (a unique index no service maps) is counted as `other`, so no label value comes from
// anywhere but this table.
const CONFLICT_FIELDS: Readonly<Record<string, string>> = { title: 'project', username: 'user', email: 'user' };

/**
 * The driver error behind a 503, classified the way an operator acts on it: a node that refuses
 * writes (failover in progress), a pool too small for the load, statements past
 * DB_STATEMENT_TIMEOUT_MS, serialization failures or deadlocks still failing after the retries,
 * or the server not reachable at all (refused, reset, shut down, too many connections).
 */
export function unavailableCause(err: unknown): UnavailableCause {
  const state = sqlState(err);
  if (state === '25006') return 'read_only';
  if (state === '57014') return 'timeout';
  if (state === '40001' || state === '40P01') return 'contention';
  if (state !== undefined) return state.startsWith('08') || state.startsWith('57P') || state.startsWith('53') ? 'unreachable' : 'other';
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'POOL_TIMEOUT') return 'pool_exhausted';
  // Lost connections, refused connects and "no listed host qualifies" carry no SQLSTATE; an error
  // that carries nothing at all (a 503 raised without a driver error behind it) is `other`.
  return err instanceof Error ? 'unreachable' : 'other';
}

const HTTP_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/** One answered request, as the app's middleware saw it. */
export interface RequestSample {
  method: string;
  /** The matched route's pattern (`/api/projects/:id`), or `unmatched`. */
  route: string;
  status: number;
  seconds: number;
  /** The error the renderer rendered, if any. */
  failure: AppError | undefined;
  /** Whether the response is a recorded one replayed for an `Idempotency-Key`. */
  replayed: boolean;
}

/** What a scrape reads the connection pool's state from. */
export type PoolSource = () => PoolStats;

/**
 * The service's Prometheus metrics, in a registry of their own (never prom-client's global one),
 * so that every app built in a process counts separately. Every label value comes from a fixed set
 * or from the route table: no ids, titles or paths.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #requests: Histogram<'method' | 'route' | 'status'>;
  readonly #conflicts: Counter<'resource' | 'field'>;
  readonly #replays: Counter;
  readonly #preconditions: Counter;
  readonly #rateLimited: Counter<'limit'>;
  readonly #unavailable: Counter<'cause'>;
  readonly #queries: Histogram<'statement'>;
  readonly #mailFailures: Counter;
  #pool: PoolSource | undefined;

  constructor() {
    const registers = [this.registry];
    this.#requests = new Histogram({
      name: 'http_request_duration_seconds',
      help: 'Time from receiving a request to its response, by method, route pattern and status',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.#conflicts = new Counter({
      name: 'conflicts_total',
      help: 'Writes refused as a duplicate (409 DUPLICATE_RESOURCE), by resource and field',
      labelNames: ['resource', 'field'],
      registers,
    });
    this.#replays = new Counter({
      name: 'idempotent_replays_total',
      help: 'Responses replayed for a repeated Idempotency-Key',
      registers,
    });
    this.#preconditions = new Counter({
      name: 'precondition_failures_total',
      help: 'Writes refused for a stale If-Match (412)',
      registers,
    });
    this.#rateLimited = new Counter({
      name: 'rate_limited_total',
      help: 'Requests refused by a rate limit (429), by limit',
      labelNames: ['limit'],
      registers,
    });
    this.#unavailable = new Counter({
      name: 'service_unavailable_total',
      help: 'Requests answered 503 because the database could not serve them, by cause',
      labelNames: ['cause'],
      registers,
    });
    this.#queries = new Histogram({
      name: 'db_query_duration_seconds',
      help: 'Time of each database statement, by its kind',
      labelNames: ['statement'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.#mailFailures = new Counter({
      name: 'mail_failures_total',
      help: 'Mails given up on after their retries (the log line says to whom and what)',
      registers,
    });
    const pool = (): PoolStats | undefined => this.#pool?.();
    new Gauge({
      name: 'db_pool_connections',
      help: 'Database connections of this process: open (total), idle, and queries waiting for one',
      labelNames: ['state'],
      registers,
      collect() {
        const stats = pool();
        if (!stats) return;
        this.set({ state: 'total' }, stats.total);
        if (stats.idle !== undefined) this.set({ state: 'idle' }, stats.idle);
        if (stats.waiting !== undefined) this.set({ state: 'waiting' }, stats.waiting);
      },
    });
    collectDefaultMetrics({ register: this.registry });
    // Every series an alert watches exists from the start at 0, so that its first increase is
    // seen as one (a series born at 1 has no earlier sample for rate() to compare against).
    for (const [field, resource] of Object.entries(CONFLICT_FIELDS)) this.#conflicts.inc({ resource, field }, 0);
    for (const cause of CAUSES) this.#unavailable.inc({ cause }, 0);
    for (const limit of LIMITS) this.#rateLimited.inc({ limit }, 0);
  }

  /** Reads the pool's state at every scrape from `source`. */
  watchPool(source: PoolSource): void {
    this.#pool = source;
  }

  observeRequest(sample: RequestSample): void {
    const { failure, status } = sample;
    const method = HTTP_METHODS.has(sample.method) ? sample.method : 'other';
    this.#requests.observe({ method, route: sample.route, status: String(status) }, sample.seconds);
    if (sample.replayed) {
      this.#replays.inc();
      // The failure (if any) was counted when it first happened.
      return;
    }
    if (status === 412) this.#preconditions.inc();
    if (failure === undefined) return;
    // An availability check (GET) that finds a value taken is advice, not a refused write.
    if (failure.code === 'DUPLICATE_RESOURCE' && method !== 'GET' && method !== 'HEAD') this.#countConflict(failure);
    if (failure.code === 'RATE_LIMITED') {
      const { limit } = failure.detail;
      this.#rateLimited.inc({ limit: limit !== undefined && LIMITS.includes(limit) ? limit : 'other' });
    }
    if (failure.code === 'SERVICE_UNAVAILABLE') this.#unavailable.inc({ cause: unavailableCause(failure.detail.cause) });
  }

  /** A mail was given up on. */
  mailFailed(): void {
    this.#mailFailures.inc();
  }

  /** Kysely's query log hook: the statement's duration, by its leading keyword. */
  readonly observeQuery = (event: LogEvent): void => {
    this.#queries.observe({ statement: statementKind(event.query.sql) }, event.queryDurationMillis / 1000);
  };

  #countConflict(failure: AppError): void {
    const duplicates = failure.detail.errors?.filter((issue) => issue.code === 'duplicate').map((issue) => issue.field) ?? [];
    const fields = duplicates.length > 0 ? duplicates : [failure.detail.field ?? 'other'];
    for (const name of new Set(fields)) {
      const resource = CONFLICT_FIELDS[name];
      this.#conflicts.inc(resource === undefined ? { resource: 'other', field: 'other' } : { resource, field: name });
    }
  }
}

const STATEMENT = /^\s*(select|insert|update|delete)\b/i;

function statementKind(sql: string): string {
  return STATEMENT.exec(sql)?.[1]?.toLowerCase() ?? 'other';
}
