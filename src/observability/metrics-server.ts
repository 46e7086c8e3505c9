import { createServer, type Server } from 'node:http';
import type { Metrics } from './metrics.ts';

/**
 * Serves `GET /metrics` (the Prometheus text exposition) on a listener of its own, apart from the
 * public port: nothing there needs a token, and a network policy or firewall rule keeps the port
 * for the scraper alone. Anything else is a 404.
 */
export function startMetricsServer(metrics: Metrics, port: number, onListening: (port: number) => void): Server {
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('Not Found\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'Content-Type': metrics.registry.contentType }).end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' }).end(`${String(err)}\n`);
      },
    );
  });
  server.listen(port, () => {
    const address = server.address();
    onListening(typeof address === 'object' && address !== null ? address.port : port);
  });
  return server;
}
