import { fileURLToPath } from 'node:url';

/** The repository's root: the bench runs the built files from there. */
export const ROOT = fileURLToPath(new URL('..', import.meta.url));

// The knobs of docs/performance.md, read once.
export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
export const DURATION = Number(process.env.BENCH_DURATION ?? 10);
export const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
/** BENCH_ONLY=name,name runs only those rows (a development aid; targets need their pairs). */
export const ONLY = process.env.BENCH_ONLY?.split(',');
export const DATABASE_URL = process.env.DATABASE_URL ?? 'pglite://';
export const ON_POSTGRES = /^postgres(ql)?:\/\//.test(DATABASE_URL);
export const PORT = 18_080;
/**
 * A Citus coordinator (a database there with the extension and its workers registered): adds the
 * row of the create on a distributed database, made for the run on every node and dropped after.
 */
export const CITUS_URL = process.env.BENCH_CITUS_URL;
