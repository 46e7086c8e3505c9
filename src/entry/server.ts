import { fileURLToPath } from 'node:url';
import { createApp } from '../app.ts';
import { ConfigError, loadConfig, type Config } from '../config.ts';
import { openConfiguredDb, queryHooks } from '../db/database.ts';
import { migrate } from '../db/migrations.ts';
import { loadWebAssets } from '../http/web-page.ts';
import { createSendMail, Outbox } from '../mail/mailer.ts';
import { createLogger, StdoutLog } from '../logger.ts';
import { runMaintenance } from '../maintenance.ts';
import { Metrics } from '../observability/metrics.ts';
import { startMetricsServer } from '../observability/metrics-server.ts';
import { startTracing } from '../observability/tracing.ts';
import { NODE_APP_BINDINGS, startNodeServer } from './node-server.ts';
import { startupFailure } from './startup-failure.ts';

/** In-flight requests get this long to finish after SIGTERM before the process gives up on them. */
const DRAIN_LIMIT_MS = 10_000;
const MAINTENANCE_INTERVAL_MS = 60 * 60 * 1000;

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
const logOutput = new StdoutLog();
const logger = createLogger(config.logLevel, logOutput);
// Recorded only when something can read them.
const metrics = config.metricsPort === undefined ? undefined : new Metrics();
const tracing = await startTracing(config, logger);
const database = await openConfiguredDb(config, logger, queryHooks(metrics?.observeQuery, tracing?.requests.queryLog)).catch(
  (err: unknown) => exitWith(startupFailure('database', err, config)),
);
metrics?.watchPool(database.pool);
await migrate(database.db).catch((err: unknown) => exitWith(startupFailure('migrate', err, config)));
// dist/server.mjs finds the page the same build wrote next to it.
const webAssets = loadWebAssets(fileURLToPath(new URL('web', import.meta.url)), { compress: true });
// Drained on shutdown: a mail the last requests asked for is sent (or given up on) before the pool closes.
const outbox = new Outbox(createSendMail(config, logger), logger, { onFailure: () => metrics?.mailFailed() });
const app = createApp({
  db: database.db,
  config,
  logger,
  outbox,
  ...NODE_APP_BINDINGS,
  webAssets,
  compress: true,
  ...(metrics && { metrics }),
  ...(tracing && { tracing: tracing.requests }),
});

// Never on the public port: see startMetricsServer.
const metricsServer =
  metrics && config.metricsPort !== undefined
    ? startMetricsServer(metrics, config.metricsPort, (port) => {
        logger.info({ port }, 'serving metrics');
      }).once('error', (err) => exitWith(startupFailure('listen-metrics', err, config)))
    : undefined;

let listening = false;
const server = startNodeServer(app, config.port, {}, (port) => {
  listening = true;
  logger.info({ port, database: database.kind }, 'listening');
});
server.once('error', (err) => {
  if (!listening) exitWith(startupFailure('listen', err, config));
  throw err;
});

function maintain(): void {
  runMaintenance(database.db, config, logger).catch((err: unknown) => {
    logger.warn({ err }, 'purge of expired keys, counters and sessions failed');
  });
}
maintain();
const maintenanceTimer = setInterval(maintain, MAINTENANCE_INTERVAL_MS).unref();

/**
 * One stop request can arrive as several signals: Ctrl-C in a terminal, or a supervisor signalling
 * the process group, reaches both npm and the server, and npm forwards its copy. Copies within this
 * window of the first are that same request.
 */
const SAME_STOP_REQUEST_MS = 1_000;

/** How long an exit waits for its last log lines to reach a reader that is slow (not gone). */
const LOG_SETTLE_LIMIT_MS = 500;

/** Exits once the log lines so far are written, or dropped because their reader went away. */
function exit(code: number): void {
  void logOutput.settled(LOG_SETTLE_LIMIT_MS).then(() => process.exit(code));
}

let stoppingSince: number | undefined;

/**
 * First signal: stop accepting connections, let in-flight requests finish, close the pool, exit 0
 * (or 1 if draining passes DRAIN_LIMIT_MS). A signal within SAME_STOP_REQUEST_MS is a copy of it;
 * a later one is deliberate and exits at once.
 */
function shutdown(signal: string): void {
  if (stoppingSince !== undefined) {
    if (Date.now() - stoppingSince < SAME_STOP_REQUEST_MS) {
      logger.info({ signal }, 'repeated signal: already draining');
      return;
    }
    logger.warn({ signal }, 'second signal: exiting without draining');
    exit(1);
    return;
  }
  stoppingSince = Date.now();
  logger.info({ signal }, 'shutting down: draining in-flight requests');
  clearInterval(maintenanceTimer);
  setTimeout(() => {
    logger.error({ limitMs: DRAIN_LIMIT_MS }, 'in-flight requests did not finish in time');
    exit(1);
  }, DRAIN_LIMIT_MS).unref();
  // Keep-alive sockets that finish their last response while we drain would otherwise hold the
  // server open until their idle timeout.
  const idleSweep =
    'closeIdleConnections' in server
      ? setInterval(() => {
          server.closeIdleConnections();
        }, 50)
      : undefined;
  // The scraper's keep-alive connection would hold the metrics listener open.
  if (metricsServer) {
    metricsServer.close();
    metricsServer.closeAllConnections();
  }
  server.close(() => {
    clearInterval(idleSweep);
    // The last spans (the drained requests') are exported before the process exits.
    outbox
      .drain()
      .then(() => Promise.all([database.close(), tracing?.shutdown()]))
      .then(
        () => {
          logger.info('stopped');
          exit(0);
        },
        (err: unknown) => {
          logger.error({ err }, 'closing the database failed');
          exit(1);
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
