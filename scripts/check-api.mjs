// Checks the API from outside, against the built server (what `npm start` runs) on a free port
// with an in-memory PGlite, started once for all of these:
//   openapi  /openapi.json passes `redocly lint` (recommended rules, redocly.yaml) and
//            `spectral lint` (spectral:oas, .spectral.yaml) with no error, warning or hint.
//            Both run offline: their rulesets ship with the packages.
//   client   examples/client/schema.d.ts is what openapi-typescript generates from /openapi.json
//            now (else it is stale: `npm run client:generate`), and examples/client/example.ts runs.
//   http     examples/409.http runs under httpyac with its assertions.
//
//   node scripts/check-api.mjs [openapi] [client] [http]   (none named: all; npm test runs all)
//   node scripts/check-api.mjs --write-client               (npm run client:generate)
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { ROOT, run, startApiServer } from './api-server.mjs';

const SCHEMA = 'examples/client/schema.d.ts';
const args = process.argv.slice(2);
const writeClient = args.includes('--write-client');
const named = args.filter((a) => !a.startsWith('--'));
const tasks = writeClient ? [] : named.length ? named : ['openapi', 'client', 'http'];

/** @param {string} name */
const bin = (name) => join(ROOT, 'node_modules/.bin', name);

/**
 * @param {string} text
 * @returns {unknown}
 */
const parseJson = (text) => JSON.parse(text);

/** @type {string[]} */
const failures = [];

/**
 * Redocly's exit code ignores warnings, so its JSON report is read instead; its banners go to
 * stderr, which is shown only when there is no report.
 * @param {string} document
 */
function redoclyLint(document) {
  const redocly = spawnSync(bin('redocly'), ['lint', '--config', 'redocly.yaml', '--format', 'json', document], {
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
    failures.push(`redocly lint gave no report (exit ${String(redocly.status)})`);
    return;
  }
  const { errors, warnings } = report.totals;
  process.stdout.write(`redocly lint (recommended): ${errors} errors, ${warnings} warnings\n`);
  for (const p of report.problems ?? [])
    process.stdout.write(`  ${p.severity} ${p.ruleId} ${p.location[0]?.pointer ?? ''}: ${p.message}\n`);
  if (errors + warnings > 0) failures.push('redocly lint');
}

/** @param {string} document */
function spectralLint(document) {
  const spectral = spawnSync(bin('spectral'), ['lint', '--quiet', '--ruleset', '.spectral.yaml', '--fail-severity', 'hint', document], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  process.stdout.write(`spectral lint (spectral:oas): ${spectral.status === 0 ? '0 problems' : 'the problems above'}\n`);
  if (spectral.status !== 0) failures.push('spectral lint');
}

/**
 * Generates the client's types from `document` into `dir`; the path of the result, or undefined.
 * @param {string} document
 * @param {string} dir
 */
function generateClientTypes(document, dir) {
  const generated = join(dir, 'schema.d.ts');
  // An empty Redocly config: redocly.yaml holds lint rules, which are not the generator's business.
  writeFileSync(join(dir, 'redocly.yaml'), 'extends: []\n');
  const gen = spawnSync(bin('openapi-typescript'), [document, '--output', generated, '--redocly', join(dir, 'redocly.yaml')], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (gen.status === 0) return generated;
  process.stderr.write(gen.stdout + gen.stderr);
  failures.push('openapi-typescript');
  return undefined;
}

const dir = mkdtempSync(join(tmpdir(), 'projects-api-check-'));
const server = await startApiServer();
try {
  const document = join(dir, 'openapi.json');
  writeFileSync(document, await (await globalThis.fetch(`${server.url}/openapi.json`)).text());

  if (writeClient) {
    const generated = generateClientTypes(document, dir);
    if (generated) {
      copyFileSync(generated, join(ROOT, SCHEMA));
      process.stdout.write(`${SCHEMA} regenerated from /openapi.json\n`);
    }
  }
  if (tasks.includes('openapi')) {
    redoclyLint(document);
    spectralLint(document);
  }
  if (tasks.includes('client')) {
    const generated = generateClientTypes(document, dir);
    if (generated && readFileSync(generated, 'utf8') !== readFileSync(join(ROOT, SCHEMA), 'utf8')) {
      failures.push(`${SCHEMA} is stale (/openapi.json changed): run npm run client:generate and commit it`);
    } else if (generated) {
      process.stdout.write(`${SCHEMA} matches /openapi.json\n`);
    }
    process.stdout.write('$ tsx examples/client/example.ts\n');
    if ((await run(bin('tsx'), ['examples/client/example.ts'], { API_URL: server.url })) !== 0) failures.push('examples/client/example.ts');
  }
  if (tasks.includes('http')) {
    process.stdout.write('$ httpyac send examples/409.http --all\n');
    const args = ['send', 'examples/409.http', '--all', '--output', 'short', '--no-color', '--var', `api=${server.url}`];
    if ((await run(bin('httpyac'), args)) !== 0) failures.push('examples/409.http');
  }
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}

for (const failure of failures) process.stderr.write(`✗ ${failure}\n`);
process.exit(failures.length ? 1 : 0);
