// Builds what runs outside the repository's sources:
//   dist/server.mjs, dist/migrate.mjs  the Node server and `npm run migrate` (packages stay in node_modules)
//                                      and the embedded database's template next to them
//   dist/web/                          the web page: index.html and its hashed, immutable app-<hash>.js / .css
//   dist/lambda/                       a self-contained Lambda artifact: index.mjs exporting `handler`
//                                      plus the few packages a bundle cannot hold (native, wasm, assets),
//                                      a copy of dist/web and the template
// `node scripts/build.mjs server` builds the first two and the page (what `npm start` needs).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const LAMBDA_DIR = join(ROOT, 'dist/lambda');
const WEB_DIR = join(ROOT, 'dist/web');
const CACHE_DIR = join(ROOT, 'node_modules/.cache/projects-api');
const DB_SRC = join(ROOT, 'src/db');

/** Lambda's Node.js runtimes run on Amazon Linux 2023 (glibc), on x86_64 and arm64. */
const ARGON2_TARGETS = ['@node-rs/argon2-linux-x64-gnu', '@node-rs/argon2-linux-arm64-gnu'];

/** Loaded from node_modules at run time: a native loader, a wasm engine, Swagger UI's assets. */
const LAMBDA_EXTERNAL = ['@node-rs/argon2', '@electric-sql/pglite', 'pg-native'];

const common = { bundle: true, platform: 'node', format: 'esm', target: 'node20', sourcemap: true, logLevel: 'warning' };

/**
 * src/db/pglite-template.ts finds the template next to the module that runs it: in a bundle, next
 * to the bundle.
 * @param {string} dir
 */
function copyPgliteTemplate(dir) {
  for (const file of readdirSync(DB_SRC).filter((name) => /^pglite-template-.*\.tar\.br$/.test(name))) {
    cpSync(join(DB_SRC, file), join(dir, file));
  }
}

async function buildServer() {
  await Promise.all(
    ['server', 'migrate'].map((name) =>
      build({
        ...common,
        entryPoints: [join(ROOT, `src/entry/${name}.ts`)],
        packages: 'external',
        outfile: join(ROOT, `dist/${name}.mjs`),
      }),
    ),
  );
  copyPgliteTemplate(join(ROOT, 'dist'));
}

/**
 * The page: one script and one stylesheet named by their content's hash (so they can be cached
 * forever), and an index.html that names them.
 */
async function buildWeb() {
  rmSync(WEB_DIR, { recursive: true, force: true });
  const result = await build({
    entryPoints: [join(ROOT, 'web/app.tsx'), join(ROOT, 'web/app.css')],
    outdir: WEB_DIR,
    entryNames: '[name]-[hash]',
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['es2022', 'chrome111', 'firefox111', 'safari16'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    metafile: true,
    logLevel: 'warning',
  });
  const outputs = Object.keys(result.metafile.outputs).map((file) => basename(file));
  /** @param {string} ext */
  const asset = (ext) => {
    const name = outputs.find((file) => file.endsWith(ext));
    if (!name) throw new Error(`the web build wrote no ${ext} file`);
    return `/assets/${name}`;
  };
  const html = readFileSync(join(ROOT, 'web/index.html'), 'utf8').replace('{{js}}', asset('.js')).replace('{{css}}', asset('.css'));
  writeFileSync(join(WEB_DIR, 'index.html'), html);
}

async function buildLambda() {
  rmSync(LAMBDA_DIR, { recursive: true, force: true });
  await build({
    ...common,
    entryPoints: { index: join(ROOT, 'src/entry/lambda.ts') },
    outdir: LAMBDA_DIR,
    // What is only import()ed (the OpenTelemetry SDK, when tracing is configured) goes in chunks
    // of its own, so a cold start without it does not even parse it.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    minify: true,
    external: LAMBDA_EXTERNAL,
    // Bundled CommonJS packages (pg, pino) call require() for Node's built-ins.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  });
  const modules = join(LAMBDA_DIR, 'node_modules');
  copyPackage('@node-rs/argon2', modules);
  for (const target of ARGON2_TARGETS) installPlatformPackage(target, modules);
  copyPackage('@electric-sql/pglite', modules, (file) => !/\.(map|d\.ts|d\.cts)$/.test(file));
  copyPackage('swagger-ui-dist', modules, (file) =>
    /swagger-ui-dist(\/(package\.json|swagger-ui\.css|swagger-ui-bundle\.js|LICENSE))?$/.test(file),
  );
  cpSync(WEB_DIR, join(LAMBDA_DIR, 'web'), { recursive: true });
  copyPgliteTemplate(LAMBDA_DIR);
}

/**
 * @param {string} path
 * @returns {unknown}
 */
function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/**
 * @param {string} name
 * @param {string} modules
 * @param {(file: string) => boolean} [filter]
 */
function copyPackage(name, modules, filter = () => true) {
  cpSync(join(ROOT, 'node_modules', name), join(modules, name), { recursive: true, filter });
}

/**
 * The version and integrity package-lock.json pins for a package.
 * @param {string} name
 * @returns {{ version: string, integrity: string }}
 */
function locked(name) {
  const lock = /** @type {{ packages: Record<string, { version?: string, integrity?: string } | undefined> }} */ (
    readJson(join(ROOT, 'package-lock.json'))
  );
  const entry = lock.packages[`node_modules/${name}`];
  if (!entry?.version || !entry.integrity) throw new Error(`${name} is not pinned in package-lock.json`);
  return { version: entry.version, integrity: entry.integrity };
}

/**
 * npm installs only the host's platform package, so the other architecture's binary is fetched
 * once (at the version and integrity the lockfile pins) into node_modules/.cache, then reused.
 * @param {string} name
 * @param {string} modules
 */
function installPlatformPackage(name, modules) {
  const dest = join(modules, name);
  const installed = join(ROOT, 'node_modules', name);
  const { version, integrity } = locked(name);
  const manifest = () => /** @type {{ version: string }} */ (readJson(join(installed, 'package.json')));
  if (existsSync(installed) && manifest().version === version) {
    cpSync(installed, dest, { recursive: true });
    return;
  }
  mkdirSync(CACHE_DIR, { recursive: true });
  // npm pack's own file name for a scoped package: @scope/name → scope-name-version.tgz.
  const tarball = join(CACHE_DIR, `${name.slice(1).replace('/', '-')}-${version}.tgz`);
  if (!existsSync(tarball)) {
    execFileSync('npm', ['pack', `${name}@${version}`, '--silent', '--pack-destination', CACHE_DIR], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  const [algorithm = '', expected] = integrity.split(/-(.*)/s);
  const actual = createHash(algorithm).update(readFileSync(tarball)).digest('base64');
  if (actual !== expected) {
    rmSync(tarball);
    throw new Error(`${name}@${version}: the tarball does not match package-lock.json's integrity`);
  }
  mkdirSync(dest, { recursive: true });
  execFileSync('tar', ['-xzf', tarball, '-C', dest, '--strip-components=1']);
}

const only = process.argv[2];
if (only !== undefined && only !== 'server') throw new Error(`unknown build target: ${only}`);
await Promise.all([buildServer(), buildWeb()]);
if (only === undefined) await buildLambda();
