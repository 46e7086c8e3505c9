import { parseHostList } from './database-url.ts';
import { z } from 'zod';

const integer = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));

const flag = z.enum(['true', 'false'], { error: 'must be true or false' }).transform((v) => v === 'true');

const proxyHops = z
  .string()
  .regex(/^(true|false|\d{1,2})$/, 'must be true, false, or the number of proxies in front')
  .transform((v) => (v === 'true' ? 1 : v === 'false' ? 0 : Number(v)));

const ConfigSchema = z.object({
  PORT: integer(1, 65535).default(8080),
  METRICS_PORT: integer(1, 65535).optional(),
  DATABASE_URL: z
    .string()
    .regex(/^(postgres(ql)?|pglite):\/\/./, 'must start with postgres://, postgresql:// or pglite://')
    // node-postgres parses it only when it first connects; a typo should not wait for that.
    .superRefine((url, ctx) => {
      if (url.startsWith('pglite://')) return;
      try {
        parseHostList(url);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: err instanceof TypeError ? 'is not a valid URL' : (err as Error).message });
      }
    })
    .default('pglite://./.data/pglite'),
  DEFAULT_LOCALE: z.enum(['ko', 'en'], { error: 'must be ko or en' }).default('ko'),
  COOKIE_SECURE: z.enum(['true', 'false', 'auto'], { error: 'must be true, false or auto' }).default('auto'),
  SESSION_IDLE_MINUTES: integer(1, 525_600).default(30),
  SESSION_MAX_HOURS: integer(1, 9_600).default(168),
  BODY_LIMIT_BYTES: integer(64, 100 * 1024 * 1024).default(65_536),
  TRUST_GATEWAY_AUTH: flag.default(false),
  TRUST_PROXY: proxyHops.default(0),
  RATE_LIMIT_AVAILABILITY_PER_MINUTE: integer(0, 1_000_000).default(30),
  RATE_LIMIT_SIGNUP_PER_MINUTE: integer(0, 1_000_000).default(60),
  RATE_LIMIT_LOGIN_PER_MINUTE: integer(0, 1_000_000).default(30),
  RATE_LIMIT_LOGIN_FAILURES: integer(0, 1_000_000).default(10),
  RATE_LIMIT_LOGIN_FAILURE_WINDOW_MINUTES: integer(1, 1440).default(15),
  RATE_LIMIT_PASSWORD_RESET_PER_MINUTE: integer(0, 1_000_000).default(10),
  RATE_LIMIT_MAIL_PER_HOUR: integer(0, 1_000_000).default(5),
  SMTP_URL: z
    .string()
    .regex(/^smtps?:\/\/[^/]/, 'must be an smtp:// or smtps:// URL')
    .refine((url) => URL.canParse(url), 'is not a valid URL')
    .optional(),
  MAIL_FROM: z.string().min(3).default('projects-api <no-reply@localhost>'),
  MAIL_DIR: z.string().default('.data/mail'),
  PUBLIC_URL: z
    .string()
    .regex(/^https?:\/\/[^/]/, 'must be an http:// or https:// URL')
    .refine((url) => URL.canParse(url), 'is not a valid URL')
    .transform((url) => url.replace(/\/+$/, ''))
    .optional(),
  EMAIL_CLAIM_HOURS: integer(1, 8_760).default(24),
  USERNAME_HOLD_DAYS: integer(0, 3_650).default(30),
  DB_POOL_MAX: integer(1, 1000).default(10),
  DB_STATEMENT_TIMEOUT_MS: integer(100, 3_600_000).default(5_000),
  DB_PREPARED_STATEMENTS: flag.default(false),
  OTEL_EXPORTER_OTLP_ENDPOINT: z
    .string()
    .regex(/^https?:\/\/[^/]/, 'must be an http:// or https:// URL')
    .refine((url) => URL.canParse(url), 'is not a valid URL')
    .optional(),
  OTEL_SERVICE_NAME: z.string().default('projects-api'),
  LOG_LEVEL: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
      error: 'must be one of fatal, error, warn, info, debug, trace, silent',
    })
    .default('info'),
});

/** Parsed configuration (docs/spec.md §2). */
export interface Config {
  port: number;
  /** Where `/metrics` is served, on a listener of its own; none when unset. */
  metricsPort: number | undefined;
  databaseUrl: string;
  defaultLocale: 'ko' | 'en';
  cookieSecure: 'true' | 'false' | 'auto';
  sessionIdleMinutes: number;
  sessionMaxHours: number;
  bodyLimitBytes: number;
  trustGatewayAuth: boolean;
  /** How many proxies in front are trusted to write X-Forwarded-For / X-Forwarded-Host / X-Forwarded-Proto (0: none). */
  trustProxyHops: number;
  /** Requests per client address per minute; 0 turns a limit off. */
  rateLimitAvailabilityPerMinute: number;
  rateLimitSignupPerMinute: number;
  rateLimitLoginPerMinute: number;
  /** Failed logins per login identifier (whatever the address) per window. */
  rateLimitLoginFailures: number;
  rateLimitLoginFailureWindowMinutes: number;
  /** Password-reset requests per client address per minute. */
  rateLimitPasswordResetPerMinute: number;
  /** Mails (verification resends, resets) per account per hour; past it none is sent. */
  rateLimitMailPerHour: number;
  /** Where mail goes (`smtp://` / `smtps://`, credentials in the URL); undefined: written to `mailDir` as .eml files. */
  smtpUrl: string | undefined;
  mailFrom: string;
  mailDir: string;
  /** The page's address in the links mails carry, without a trailing slash. */
  publicUrl: string;
  /** How long an unverified email blocks others from taking it; also how long a verification link works. */
  emailClaimHours: number;
  /** How long a released username stays held; 0 frees it at once. */
  usernameHoldDays: number;
  /** PostgreSQL pool size per process. */
  dbPoolMax: number;
  /** A statement running longer is cancelled by the client (a 503); a stalled connection is dropped 1 s later. */
  dbStatementTimeoutMs: number;
  /** Named (prepared) statements: faster, but only where each process owns its server sessions (no transaction pooler). */
  dbPreparedStatements: boolean;
  /**
   * Where traces go, as OpenTelemetry's OTLP/HTTP base URL (`/v1/traces` is appended); undefined
   * turns tracing off and loads none of the SDK.
   */
  otlpEndpoint: string | undefined;
  /** The `service.name` of every span. */
  otelServiceName: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
}

/** Thrown for an invalid environment; its message is one line naming the variable. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Environment variable names, for an entry point that defaults some of them differently. */
export type ConfigVariable = keyof z.input<typeof ConfigSchema>;

/**
 * Every rate limit off (0), for the tests and the bench, which sign up and log in far more often
 * than a person would. Here, next to the variables, so that a limit added to the schema is added
 * here too (test/config.test.ts checks) and a renamed one fails the type check; and it is the one
 * module that tests, bench and the server all may import.
 */
export const LIMITS_OFF = {
  RATE_LIMIT_AVAILABILITY_PER_MINUTE: '0',
  RATE_LIMIT_SIGNUP_PER_MINUTE: '0',
  RATE_LIMIT_LOGIN_PER_MINUTE: '0',
  RATE_LIMIT_LOGIN_FAILURES: '0',
  RATE_LIMIT_PASSWORD_RESET_PER_MINUTE: '0',
  RATE_LIMIT_MAIL_PER_HOUR: '0',
} as const satisfies Partial<Record<ConfigVariable, string>>;

/**
 * Parses the environment once. Empty values count as unset; `defaults` stand in for unset ones
 * (the Lambda entry's smaller pool). Throws ConfigError naming the first invalid variable.
 */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  defaults: Partial<Record<ConfigVariable, string>> = {},
): Config {
  const set = Object.entries(env).filter(([, v]) => v !== undefined && v !== '');
  const present = { ...defaults, ...Object.fromEntries(set) };
  const result = ConfigSchema.safeParse(present);
  if (!result.success) {
    const issue = result.error.issues[0];
    const name = String(issue?.path[0] ?? 'environment');
    throw new ConfigError(`Invalid configuration: ${name} ${issue?.message ?? 'is invalid'}`);
  }
  const e = result.data;
  if (e.METRICS_PORT === e.PORT) throw new ConfigError('Invalid configuration: METRICS_PORT must differ from PORT');
  return {
    port: e.PORT,
    metricsPort: e.METRICS_PORT,
    databaseUrl: e.DATABASE_URL,
    defaultLocale: e.DEFAULT_LOCALE,
    cookieSecure: e.COOKIE_SECURE,
    sessionIdleMinutes: e.SESSION_IDLE_MINUTES,
    sessionMaxHours: e.SESSION_MAX_HOURS,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    trustGatewayAuth: e.TRUST_GATEWAY_AUTH,
    trustProxyHops: e.TRUST_PROXY,
    rateLimitAvailabilityPerMinute: e.RATE_LIMIT_AVAILABILITY_PER_MINUTE,
    rateLimitSignupPerMinute: e.RATE_LIMIT_SIGNUP_PER_MINUTE,
    rateLimitLoginPerMinute: e.RATE_LIMIT_LOGIN_PER_MINUTE,
    rateLimitLoginFailures: e.RATE_LIMIT_LOGIN_FAILURES,
    rateLimitLoginFailureWindowMinutes: e.RATE_LIMIT_LOGIN_FAILURE_WINDOW_MINUTES,
    rateLimitPasswordResetPerMinute: e.RATE_LIMIT_PASSWORD_RESET_PER_MINUTE,
    rateLimitMailPerHour: e.RATE_LIMIT_MAIL_PER_HOUR,
    smtpUrl: e.SMTP_URL,
    mailFrom: e.MAIL_FROM,
    mailDir: e.MAIL_DIR,
    publicUrl: e.PUBLIC_URL ?? `http://localhost:${e.PORT}`,
    emailClaimHours: e.EMAIL_CLAIM_HOURS,
    usernameHoldDays: e.USERNAME_HOLD_DAYS,
    dbPoolMax: e.DB_POOL_MAX,
    dbStatementTimeoutMs: e.DB_STATEMENT_TIMEOUT_MS,
    dbPreparedStatements: e.DB_PREPARED_STATEMENTS,
    otlpEndpoint: e.OTEL_EXPORTER_OTLP_ENDPOINT,
    otelServiceName: e.OTEL_SERVICE_NAME,
    logLevel: e.LOG_LEVEL,
  };
}
