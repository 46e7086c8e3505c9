import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliDecompressSync } from 'node:zlib';
import type { MemoryFS } from '@electric-sql/pglite';

/**
 * A new embedded database is a copy of a cluster the installed PGlite's own initdb made
 * (`npm run pglite:template` writes it, shut down cleanly, as a brotli-compressed tar). Running
 * initdb inside WebAssembly takes 5–15 s and leaves two dead WebAssembly instances, hundreds of MB,
 * that V8 frees only at its next major GC; copying the result takes a fraction of a second.
 *
 * The copy is only taken for the exact PGlite version that made it: another version may lay out
 * its catalogs differently, so it runs initdb as before. The file sits next to this module in
 * src/db/, and the build copies it next to each bundle.
 */
const TEMPLATE_PREFIX = 'pglite-template-';
const TEMPLATE_SUFFIX = '.tar.br';

/** The name of the template for `version` of PGlite. */
export function templateName(version: string): string {
  return `${TEMPLATE_PREFIX}${version}${TEMPLATE_SUFFIX}`;
}

/** The version of PGlite node_modules holds (its entry point is `dist/index.cjs` for `require`). */
export function installedPgliteVersion(): string {
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const manifest = JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version: string };
  return manifest.version;
}

/** Where the template for the installed PGlite is, if there is one. */
export function findTemplate(): string | undefined {
  const path = fileURLToPath(new URL(templateName(installedPgliteVersion()), import.meta.url));
  return existsSync(path) ? path : undefined;
}

interface TarEntry {
  /** Relative to the data directory. */
  name: string;
  directory: boolean;
  /** A view into the tarball, not a copy. */
  data: Uint8Array;
}

const BLOCK = 512;

/** The entries of a ustar tarball whose names fit its 100-byte field (a data directory's do). */
function* tarEntries(tar: Buffer): Generator<TarEntry> {
  for (let offset = 0; offset + BLOCK <= tar.length && tar[offset] !== 0;) {
    const field = (from: number, length: number) => tar.toString('latin1', offset + from, offset + from + length).replace(/\0.*$/s, '');
    if (field(257, 5) !== 'ustar') throw new Error(`the PGlite template is not a ustar tarball at byte ${offset}`);
    const size = parseInt(field(124, 12).trim() || '0', 8);
    const entry = { name: field(0, 100), directory: field(156, 1) === '5' };
    offset += BLOCK;
    yield { ...entry, data: tar.subarray(offset, offset + size) };
    offset += Math.ceil(size / BLOCK) * BLOCK;
  }
}

function readTemplate(path: string): Buffer {
  return brotliDecompressSync(readFileSync(path));
}

/**
 * Writes the template into `dir`, PG_VERSION last: PGlite takes a directory that has it for a
 * database, so a first start stopped midway writes the copy again on the next one.
 */
export function extractTemplate(path: string, dir: string): void {
  let version: TarEntry | undefined;
  for (const entry of tarEntries(readTemplate(path))) {
    const target = join(dir, entry.name);
    if (entry.directory) mkdirSync(target, { recursive: true });
    else if (entry.name === 'PG_VERSION') version = entry;
    else {
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, entry.data);
    }
  }
  if (!version) throw new Error('the PGlite template has no PG_VERSION');
  writeFileSync(join(dir, version.name), version.data);
}

/** The part of Emscripten's file system the template is written through. */
interface EmscriptenFs {
  mkdirTree(path: string): void;
  writeFile(path: string, data: Uint8Array, options: { canOwn: boolean }): void;
}

/**
 * An in-memory file system that starts as a copy of the template. PGlite reads its file system in
 * `initialSyncFs`, before it looks for PG_VERSION, so the copy is found as an existing database.
 * The files are views into the one decompressed buffer (`canOwn`): handing PGlite the tarball
 * (`loadDataDir`) instead copies each file, keeps the tarball for the life of the instance (its
 * options stay referenced) and leaves ~100 MB more resident.
 */
export function templateMemoryFs(Base: typeof MemoryFS, path: string): MemoryFS {
  return new (class extends Base {
    override async initialSyncFs(): Promise<void> {
      await super.initialSyncFs();
      if (!this.pg) throw new Error('PGlite reads its file system only once it has set it up');
      const mod = this.pg.Module;
      const fs = mod.FS as EmscriptenFs;
      const dataDir = (mod.ENV as { PGDATA: string }).PGDATA;
      fs.mkdirTree(dataDir);
      for (const entry of tarEntries(readTemplate(path))) {
        if (entry.directory) fs.mkdirTree(`${dataDir}/${entry.name}`);
        else fs.writeFile(`${dataDir}/${entry.name}`, entry.data, { canOwn: true });
      }
    }
  })();
}
