import autocannon from 'autocannon';
import { cpuMeter, rssMb } from './proc.ts';
import type { Sample } from './report.ts';
import { CONNECTIONS, DURATION } from './settings.ts';

// The two ways a row is loaded: HTTP requests from autocannon, or loops inside this process.

export interface Load {
  method: 'GET' | 'POST';
  path: string | (() => string);
  headers?: Record<string, string>;
  /** Headers that differ per request, such as an Idempotency-Key. */
  perRequestHeaders?: () => Record<string, string>;
  body?: () => string;
  expected: number[];
}

/**
 * Drives the server `pid` listening on `port` with autocannon, sampling its RSS and CPU (and that
 * of `postgresDatabase`'s backends); errors are unexpected statuses and socket errors.
 */
export async function drive(port: number, pid: number, postgresDatabase: string | undefined, load: Load): Promise<Sample> {
  let peakRss = rssMb(pid);
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssMb(pid))), 250);
  const cpu = cpuMeter(postgresDatabase, pid);
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections: CONNECTIONS,
    duration: DURATION,
    requests: [
      {
        method: load.method,
        path: typeof load.path === 'string' ? load.path : '/',
        headers: { 'content-type': 'application/json', ...load.headers },
        setupRequest: (req) => ({
          ...req,
          ...(typeof load.path === 'function' && { path: load.path() }),
          ...(load.body && { body: load.body() }),
          ...(load.perRequestHeaders && { headers: { ...req.headers, ...load.perRequestHeaders() } }),
        }),
      },
    ],
  });
  const requests = result.requests.total;
  const used = cpu(requests);
  clearInterval(sampler);
  const statuses = result.statusCodeStats as unknown as Record<string, { count: number }>;
  const unexpected = Object.entries(statuses)
    .filter(([code]) => !load.expected.includes(Number(code)))
    .reduce((n, [, { count }]) => n + count, 0);
  return {
    requestsPerSecond: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: unexpected + result.errors + result.timeouts,
    rssMb: peakRss,
    requests,
    ...used,
  };
}

/** `CONNECTIONS` loops calling `op` for the scenario's duration, as a sample (latency per call). */
export async function loops(postgresDatabase: string | undefined, op: (i: number) => Promise<unknown>): Promise<Sample> {
  const latencies: number[] = [];
  const cpu = cpuMeter(postgresDatabase, undefined);
  let n = 0;
  const started = performance.now();
  const end = Date.now() + DURATION * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (Date.now() < end) {
        const t = performance.now();
        await op(n++);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    requestsPerSecond: latencies.length / seconds,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
    errors: 0,
    requests: latencies.length,
    ...cpu(latencies.length),
  };
}
