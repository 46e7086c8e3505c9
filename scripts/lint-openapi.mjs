// `npm run lint:openapi`: fetches /openapi.json from the built server and lints it with Redocly
// (recommended rules, redocly.yaml) and Spectral (spectral:oas, .spectral.yaml). Any error,
// warning or hint fails. Both run offline: their rulesets ship with the packages.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { ROOT, startApiServer } from './api-server.mjs';

const server = await startApiServer();
let document;
try {
  document = await (await globalThis.fetch(`${server.url}/openapi.json`)).text();
} finally {
  await server.stop();
}
const dir = mkdtempSync(join(tmpdir(), 'projects-api-openapi-'));
const file = join(dir, 'openapi.json');
writeFileSync(file, document);

/**
 * @param {string} text
 * @returns {unknown}
 */
const parseJson = (text) => JSON.parse(text);

/** @param {string} name */
const bin = (name) => join(ROOT, 'node_modules/.bin', name);
let failed = false;

// Redocly's exit code ignores warnings, so its JSON report is read instead; its banners go to
// stderr, which is kept only for a failure.
const redocly = spawnSync(bin('redocly'), ['lint', '--config', 'redocly.yaml', '--format', 'json', file], {
  cwd: ROOT,
  encoding: 'utf8',
  env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_NOTIFICATIONS: 'true' },
});
/** @typedef {{ totals?: { errors: number, warnings: number }, problems?: { ruleId: string, severity: string, message: string, location: { pointer?: string }[] }[] }} RedoclyReport */
/** @type {RedoclyReport} */
let report = {};
try {
  report = /** @type {RedoclyReport} */ (parseJson(redocly.stdout));
} catch {
  process.stderr.write(redocly.stderr);
}
if (!report.totals) {
  failed = true;
  process.stdout.write(`redocly lint: no report (exit ${String(redocly.status)})\n`);
} else {
  const { errors, warnings } = report.totals;
  process.stdout.write(`redocly lint (recommended): ${errors} errors, ${warnings} warnings\n`);
  for (const p of report.problems ?? []) process.stdout.write(`  ${p.severity} ${p.ruleId} ${p.location[0]?.pointer ?? ''}: ${p.message}\n`);
  if (errors + warnings > 0) failed = true;
}

const spectral = spawnSync(bin('spectral'), ['lint', '--quiet', '--ruleset', '.spectral.yaml', '--fail-severity', 'hint', file], {
  cwd: ROOT,
  stdio: 'inherit',
});
process.stdout.write(`spectral lint (spectral:oas): ${spectral.status === 0 ? '0 problems' : 'problems above'}\n`);
if (spectral.status !== 0) failed = true;

rmSync(dir, { recursive: true, force: true });
process.exit(failed ? 1 : 0);
