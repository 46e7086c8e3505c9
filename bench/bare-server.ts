import { serve } from '@hono/node-server';
import { Hono } from 'hono';

// The HTTP limit: the same server stack answering a constant, with no validation, database or logging.
const app = new Hono().get('/', (c) => c.json({ status: 'Success', data: { ok: true } }));
serve({ fetch: app.fetch, port: Number(process.env.PORT) }, () => {
  process.stdout.write('listening\n');
});
