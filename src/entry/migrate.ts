import { ConfigError, loadConfig } from '../config.ts';
import { createDb, redactUrl } from '../db/database.ts';
import { migrate } from '../db/migrations.ts';

// `npm run migrate`: brings DATABASE_URL's schema to this code's version and exits, for a deploy
// pipeline to run before a Lambda that only checks the schema goes live. Safe to run at any time
// and from several places at once (see `migrate`).

try {
  const config = loadConfig();
  const database = await createDb(config.databaseUrl, { max: 1 });
  try {
    const applied = await migrate(database.db);
    const target = redactUrl(config.databaseUrl);
    process.stdout.write(applied.length === 0 ? `${target}: schema already current\n` : `${target}: applied ${applied.join(', ')}\n`);
  } finally {
    await database.close();
  }
} catch (err) {
  process.stderr.write(`${err instanceof ConfigError ? err.message : `Migration failed: ${String(err)}`}\n`);
  process.exitCode = 1;
}
