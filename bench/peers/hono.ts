import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { bearerUser, pool, PROJECT_COLUMNS } from './session-check.ts';

// The minimal hand-written handlers: one statement per request after the cached session check.
const app = new Hono();

app.post('/api/projects', async (c) => {
  const userId = await bearerUser(c.req.header('authorization'));
  if (!userId) return c.json({ status: 'Failed', code: 'UNAUTHENTICATED' }, 401);
  const body = await c.req.json<{ title?: unknown; description?: unknown }>();
  if (typeof body.title !== 'string' || body.title.trim() === '' || body.title.length > 200) {
    return c.json({ status: 'Failed', code: 'VALIDATION_FAILED' }, 400);
  }
  const title = body.title.trim();
  const { rows } = await pool.query(
    `insert into projects (owner_id, title, title_key, description) values ($1, $2, $3, $4)
     on conflict (owner_id, title_key) where deleted_at is null and title_key is not null do nothing
     returning ${PROJECT_COLUMNS}`,
    [userId, title, title.toLowerCase().normalize('NFC'), typeof body.description === 'string' ? body.description : null],
  );
  if (!rows[0]) return c.json({ status: 'Failed', code: 'DUPLICATE_RESOURCE' }, 409);
  return c.json({ status: 'Success', data: rows[0] }, 201);
});

app.get('/api/projects/:id', async (c) => {
  const userId = await bearerUser(c.req.header('authorization'));
  if (!userId) return c.json({ status: 'Failed', code: 'UNAUTHENTICATED' }, 401);
  const { rows } = await pool.query(`select ${PROJECT_COLUMNS} from projects where id = $1 and owner_id = $2`, [c.req.param('id'), userId]);
  if (!rows[0]) return c.json({ status: 'Failed', code: 'NOT_FOUND_RESOURCE' }, 404);
  return c.json({ status: 'Success', data: rows[0] });
});

serve({ fetch: app.fetch, port: Number(process.env.PORT) }, () => {
  process.stdout.write('listening\n');
});
