import { describe, expect, it } from 'vitest';
import { ConfigError, LIMITS_OFF, loadConfig } from '../src/config.ts';

describe('loadConfig', () => {
  it('has the defaults of docs/spec.md §2', () => {
    expect(loadConfig({})).toEqual({
      port: 8080,
      databaseUrl: 'pglite://./.data/pglite',
      defaultLocale: 'ko',
      cookieSecure: 'auto',
      sessionIdleMinutes: 30,
      sessionMaxHours: 168,
      bodyLimitBytes: 65536,
      trustGatewayAuth: false,
      trustProxyHops: 0,
      rateLimitAvailabilityPerMinute: 30,
      rateLimitSignupPerMinute: 60,
      rateLimitLoginPerMinute: 30,
      rateLimitLoginFailures: 10,
      rateLimitLoginFailureWindowMinutes: 15,
      rateLimitPasswordResetPerMinute: 10,
      rateLimitMailPerHour: 5,
      smtpUrl: undefined,
      mailFrom: 'projects-api <no-reply@localhost>',
      mailDir: '.data/mail',
      publicUrl: 'http://localhost:8080',
      emailClaimHours: 24,
      usernameHoldDays: 30,
      dbPoolMax: 10,
      dbStatementTimeoutMs: 5000,
      dbPreparedStatements: false,
      otlpEndpoint: undefined,
      otelServiceName: 'projects-api',
      logLevel: 'info',
    });
  });

  it('reads every variable; empty counts as unset', () => {
    expect(
      loadConfig({
        PORT: '3000',
        DATABASE_URL: 'postgres://u:p@h1:5432,h2:5433/db?target_session_attrs=read-write',
        DEFAULT_LOCALE: 'en',
        COOKIE_SECURE: 'true',
        SESSION_IDLE_MINUTES: '5',
        SESSION_MAX_HOURS: '24',
        BODY_LIMIT_BYTES: '1024',
        TRUST_GATEWAY_AUTH: 'true',
        DB_PREPARED_STATEMENTS: 'true',
        OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
        OTEL_SERVICE_NAME: 'projects-api-eu',
        LOG_LEVEL: '',
      }),
    ).toMatchObject({
      port: 3000,
      databaseUrl: 'postgres://u:p@h1:5432,h2:5433/db?target_session_attrs=read-write',
      defaultLocale: 'en',
      cookieSecure: 'true',
      sessionIdleMinutes: 5,
      sessionMaxHours: 24,
      bodyLimitBytes: 1024,
      trustGatewayAuth: true,
      dbPreparedStatements: true,
      otlpEndpoint: 'http://collector:4318',
      otelServiceName: 'projects-api-eu',
      logLevel: 'info',
    });
  });

  it('with LIMITS_OFF has every rate limit off and every other setting at its default', () => {
    const defaults = loadConfig({});
    // Every count a client can exhaust; the failure window is a duration, not a limit.
    const limits = Object.keys(defaults).filter((k) => k.startsWith('rateLimit') && !k.endsWith('WindowMinutes'));
    expect(limits.map((k) => defaults[k as keyof typeof defaults])).not.toContain(0);
    expect(loadConfig(LIMITS_OFF)).toEqual({ ...defaults, ...Object.fromEntries(limits.map((k) => [k, 0])) });
  });

  it.each([
    [{ SMTP_URL: 'mail.example.com:25' }, 'Invalid configuration: SMTP_URL must be an smtp:// or smtps:// URL'],
    [{ PUBLIC_URL: 'example.com' }, 'Invalid configuration: PUBLIC_URL must be an http:// or https:// URL'],
    [{ USERNAME_HOLD_DAYS: '-1' }, 'Invalid configuration: USERNAME_HOLD_DAYS must be a whole number'],
    [{ PORT: 'http' }, 'Invalid configuration: PORT must be a whole number'],
    [{ PORT: '70000' }, 'Invalid configuration: PORT must be at most 65535'],
    [
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318' },
      'Invalid configuration: OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// or https:// URL',
    ],
    [{ DATABASE_URL: 'mysql://x' }, 'Invalid configuration: DATABASE_URL must start with postgres://, postgresql:// or pglite://'],
    [{ DATABASE_URL: 'postgres://postgres@[db/x' }, 'Invalid configuration: DATABASE_URL is not a valid URL'],
    [{ DATABASE_URL: 'postgres://u@h1:5432,,h2/db' }, 'Invalid configuration: DATABASE_URL lists an empty host'],
    [{ DATABASE_URL: 'postgres://u@h1,h2:x/db' }, 'Invalid configuration: DATABASE_URL lists a host that is not valid: h2:x'],
    [
      { DATABASE_URL: 'postgres://u@h1,h2/db?target_session_attrs=standby' },
      'Invalid configuration: DATABASE_URL has target_session_attrs=standby; the service writes, so it takes any, read-write or primary',
    ],
    [{ DB_PREPARED_STATEMENTS: 'yes' }, 'Invalid configuration: DB_PREPARED_STATEMENTS must be true or false'],
    [{ DEFAULT_LOCALE: 'fr' }, 'Invalid configuration: DEFAULT_LOCALE must be ko or en'],
    [{ COOKIE_SECURE: 'yes' }, 'Invalid configuration: COOKIE_SECURE must be true, false or auto'],
    [{ SESSION_IDLE_MINUTES: '0' }, 'Invalid configuration: SESSION_IDLE_MINUTES must be at least 1'],
    [{ SESSION_IDLE_MINUTES: '0.5' }, 'Invalid configuration: SESSION_IDLE_MINUTES must be a whole number'],
    [{ SESSION_MAX_HOURS: '10000' }, 'Invalid configuration: SESSION_MAX_HOURS must be at most 9600'],
    [{ BODY_LIMIT_BYTES: '-1' }, 'Invalid configuration: BODY_LIMIT_BYTES must be a whole number'],
    [{ TRUST_GATEWAY_AUTH: '1' }, 'Invalid configuration: TRUST_GATEWAY_AUTH must be true or false'],
    [{ TRUST_PROXY: 'yes' }, 'Invalid configuration: TRUST_PROXY must be true, false, or the number of proxies in front'],
    [{ RATE_LIMIT_LOGIN_FAILURES: '-3' }, 'Invalid configuration: RATE_LIMIT_LOGIN_FAILURES must be a whole number'],
    [{ DB_POOL_MAX: '0' }, 'Invalid configuration: DB_POOL_MAX must be at least 1'],
    [{ DB_STATEMENT_TIMEOUT_MS: '5' }, 'Invalid configuration: DB_STATEMENT_TIMEOUT_MS must be at least 100'],
    [{ LOG_LEVEL: 'loud' }, 'Invalid configuration: LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent'],
  ])('%o stops start-up with one line naming it', (env, message) => {
    expect(() => loadConfig(env)).toThrow(new ConfigError(message));
  });
});
