// `npm run pglite:template`: writes src/db/pglite-template-<version>.tar.br, the cluster every new
// embedded database starts as (src/db/pglite-template.ts), for the PGlite version node_modules
// holds, and removes the templates of other versions. Run it after upgrading PGlite; a test fails
// until it is run.
//
// The cluster is what that PGlite's own initdb makes, with its own defaults (those a first start
// without a template would use), started once and shut down cleanly. No migration is in it: the
// server applies them on its first start as on any other.
import { Buffer } from 'node:buffer';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';
import { fileURLToPath, URL } from 'node:url';
import { brotliCompressSync, constants } from 'node:zlib';
import { PGlite } from '@electric-sql/pglite';

const DB_DIR = fileURLToPath(new URL('../src/db/', import.meta.url));
const PREFIX = 'pglite-template-';
const BLOCK = 512;

/**
 * A ustar header: fixed mode, owner and time, so the tarball holds only what PostgreSQL wrote.
 * @param {string} name
 * @param {number} size
 * @param {boolean} directory
 */
function header(name, size, directory) {
  if (Buffer.byteLength(name) >= 100) throw new Error(`${name}: too long for a ustar name`);
  const block = Buffer.alloc(BLOCK);
  /** @param {number} at @param {string} text */
  const put = (at, text) => block.write(text, at, 'latin1');
  /** @param {number} at @param {number} width @param {number} value */
  const octal = (at, width, value) => put(at, `${value.toString(8).padStart(width - 1, '0')}\0`);
  put(0, name);
  octal(100, 8, directory ? 0o755 : 0o644);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, size);
  octal(136, 12, 0);
  put(148, ' '.repeat(8));
  put(156, directory ? '5' : '0');
  put(257, 'ustar\u000000');
  const checksum = block.reduce((sum, byte) => sum + byte, 0);
  put(148, `${checksum.toString(8).padStart(6, '0')}\0 `);
  return block;
}

/**
 * Every directory and file under `dir`, a directory before what it holds, in name order.
 * @param {string} dir
 * @param {string} prefix
 * @returns {Buffer[]}
 */
function tarTree(dir, prefix = '') {
  return readdirSync(dir)
    .sort()
    .flatMap((name) => {
      const path = join(dir, name);
      const entry = prefix ? `${prefix}/${name}` : name;
      if (statSync(path).isDirectory()) return [header(entry, 0, true), ...tarTree(path, entry)];
      const data = readFileSync(path);
      return [header(entry, data.length, false), data, Buffer.alloc((BLOCK - (data.length % BLOCK)) % BLOCK)];
    });
}

/** @type {unknown} */
const manifest = JSON.parse(
  readFileSync(fileURLToPath(new URL('../node_modules/@electric-sql/pglite/package.json', import.meta.url)), 'utf8'),
);
const { version } = /** @type {{ version: string }} */ (manifest);
const dir = mkdtempSync(join(tmpdir(), PREFIX));
try {
  const pglite = await PGlite.create(dir);
  await pglite.close();
  const tar = Buffer.concat([...tarTree(dir), Buffer.alloc(2 * BLOCK)]);
  const compressed = brotliCompressSync(tar, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
      // A window as large as brotli allows: the three databases' catalogs are near-copies of each other.
      [constants.BROTLI_PARAM_LGWIN]: constants.BROTLI_MAX_WINDOW_BITS,
      [constants.BROTLI_PARAM_SIZE_HINT]: tar.length,
    },
  });
  const name = `${PREFIX}${version}.tar.br`;
  for (const old of readdirSync(DB_DIR).filter((file) => file.startsWith(PREFIX) && file !== name)) rmSync(join(DB_DIR, old));
  writeFileSync(join(DB_DIR, name), compressed);
  process.stdout.write(
    `src/db/${name}: ${(tar.length / 1e6).toFixed(1)} MB of cluster, ${(compressed.length / 1e6).toFixed(2)} MB compressed\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
