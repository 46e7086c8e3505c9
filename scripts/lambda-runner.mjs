// Runs a built Lambda handler the way the Lambda runtime does, for the tests and the cold-start
// benchmark: one process is one container. It imports `<dir>/<file>.mjs` once (the init phase),
// then answers the events it reads as JSON lines on stdin. Results go to file descriptor 3 as JSON
// lines, so that the handler's own logs on stdout stay separate.
//
//   node scripts/lambda-runner.mjs <artifact dir> <file>.<export>     (as in template.yaml's Handler)
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

const [dir = '', spec = ''] = process.argv.slice(2);
const [file = '', name = ''] = spec.split('.');
const results = createWriteStream('', { fd: 3 });

/** @param {unknown} message */
function send(message) {
  results.write(`${JSON.stringify(message)}\n`);
}

/** @param {unknown} err */
function describe(err) {
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}

const started = performance.now();
/** @type {(event: unknown, context: unknown) => Promise<unknown>} */
let handler;
try {
  /** @type {unknown} */
  const module = await import(pathToFileURL(join(dir, `${file}.mjs`)).href);
  const exported = /** @type {Record<string, unknown>} */ (module)[name];
  if (typeof exported !== 'function') throw new Error(`${file}.mjs exports no function ${name}`);
  handler = /** @type {typeof handler} */ (exported);
} catch (err) {
  send({ initError: describe(err) });
  process.exit(1);
}
send({ ready: true, initMs: performance.now() - started });

// Invocations run as they arrive, so one process can also stand in for many concurrent callers.
for await (const line of createInterface({ input: process.stdin })) {
  /** @type {unknown} */
  const message = JSON.parse(line);
  const { id, event } = /** @type {{ id: number, event: unknown }} */ (message);
  const begun = performance.now();
  handler(event, { awsRequestId: String(id) }).then(
    (result) => {
      send({ id, result, ms: performance.now() - begun });
    },
    (/** @type {unknown} */ err) => {
      send({ id, error: describe(err) });
    },
  );
}
