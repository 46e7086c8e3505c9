import { serve } from '@hono/node-server';
import { createApp } from './app.ts';
import { ConfigError, loadConfig, type Config } from './config.ts';
import { createDb } from './db/database.ts';
import { migrate } from './db/migrations.ts';
import { createLogger } from './logger.ts';

function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(1);
  }
}

const config = configOrExit();
const logger = createLogger(config.logLevel);
const database = await createDb(config.databaseUrl, { max: config.dbPoolMax, statementTimeoutMs: config.dbStatementTimeoutMs });
await migrate(database.db);
const app = createApp({ db: database.db, config, logger });

const server = serve({ fetch: app.fetch, port: config.port }, (info) => {
  logger.info({ port: info.port, database: database.kind }, 'listening');
});

let stopping = false;
function shutdown(signal: string): void {
  if (stopping) process.exit(1);
  stopping = true;
  logger.info({ signal }, 'shutting down');
  server.close(() => {
    void database.close().then(() => process.exit(0));
  });
}
process.on('SIGTERM', () => {
  shutdown('SIGTERM');
});
process.on('SIGINT', () => {
  shutdown('SIGINT');
});
