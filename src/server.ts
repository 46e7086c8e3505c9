import { getConnInfo } from '@hono/node-server/conninfo';
import { createApp } from './app.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { openConfiguredDb } from './db/database.ts';
import { migrate } from './db/migrations.ts';
import { purgeExpiredKeys } from './idempotency/idempotency.repository.ts';
import { createLogger } from './logger.ts';
import { startNodeServer } from './node-server.ts';
import { startupFailure } from './startup-failure.ts';
import { purgeOldCounters } from './rate-limits/rate-limits.repository.ts';

/** In-flight requests get this long to finish after SIGTERM before the process gives up on them. */
const DRAIN_LIMIT_MS = 10_000;
const PURGE_INTERVAL_MS = 60 * 60 * 1000;

/** Start-up failures are one line on stderr naming the setting, and exit code 1. */
function exitWith(line: string): never {
  process.stderr.write(`${line}\n`);
  process.exit(1);
}

function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    exitWith(err.message);
  }
}

const config = configOrExit();
const logger = createLogger(config.logLevel);
const database = await openConfiguredDb(config, logger).catch((err: unknown) => exitWith(startupFailure('database', err, config)));
await migrate(database.db).catch((err: unknown) => exitWith(startupFailure('migrate', err, config)));
const app = createApp({ db: database.db, config, logger, socketAddress: (c) => getConnInfo(c).remote.address });

let listening = false;
const server = startNodeServer(app, config.port, (port) => {
  listening = true;
  logger.info({ port, database: database.kind }, 'listening');
});
server.once('error', (err) => {
  if (!listening) exitWith(startupFailure('listen', err, config));
  throw err;
});

function purge(): void {
  Promise.all([purgeExpiredKeys(database.db), purgeOldCounters(database.db)]).then(
    ([keys, counters]) => {
      if (keys + counters > 0) logger.info({ keys, counters }, 'expired idempotency keys and rate-limit counters purged');
    },
    (err: unknown) => {
      logger.warn({ err }, 'purge of expired keys and counters failed');
    },
  );
}
purge();
const purgeTimer = setInterval(purge, PURGE_INTERVAL_MS).unref();

let stopping = false;

/**
 * First signal: stop accepting connections, let in-flight requests finish, close the pool, exit 0
 * (or 1 if draining passes DRAIN_LIMIT_MS). A second signal exits at once.
 */
function shutdown(signal: string): void {
  if (stopping) {
    logger.warn({ signal }, 'second signal: exiting without draining');
    process.exit(1);
  }
  stopping = true;
  logger.info({ signal }, 'shutting down: draining in-flight requests');
  clearInterval(purgeTimer);
  setTimeout(() => {
    logger.error({ limitMs: DRAIN_LIMIT_MS }, 'in-flight requests did not finish in time');
    process.exit(1);
  }, DRAIN_LIMIT_MS).unref();
  // Keep-alive sockets that finish their last response while we drain would otherwise hold the
  // server open until their idle timeout.
  const idleSweep =
    'closeIdleConnections' in server
      ? setInterval(() => {
          server.closeIdleConnections();
        }, 50)
      : undefined;
  server.close(() => {
    clearInterval(idleSweep);
    database.close().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'closing the database failed');
        process.exit(1);
      },
    );
  });
}

process.on('SIGTERM', () => {
  shutdown('SIGTERM');
});
process.on('SIGINT', () => {
  shutdown('SIGINT');
});
