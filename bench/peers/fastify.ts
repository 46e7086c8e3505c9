import Fastify from 'fastify';
import { bearerUser, pool, PROJECT_COLUMNS } from './session-check.ts';

// The seeds' design: look for the title first, then insert; the unique index still catches the race.
const app = Fastify();

app.post<{ Body: { title: string; description?: string } }>(
  '/api/projects',
  {
    schema: {
      body: {
        type: 'object',
        required: ['title'],
        properties: { title: { type: 'string', minLength: 1, maxLength: 200 }, description: { type: 'string' } },
      },
    },
  },
  async (request, reply) => {
    const userId = await bearerUser(request.headers.authorization);
    if (!userId) return reply.code(401).send({ status: 'Failed', code: 'UNAUTHENTICATED' });
    const title = request.body.title.trim();
    const key = title.toLowerCase().normalize('NFC');
    const taken = await pool.query('select id from projects where owner_id = $1 and title_key = $2 and deleted_at is null', [userId, key]);
    if (taken.rows[0]) return reply.code(409).send({ status: 'Failed', code: 'DUPLICATE_RESOURCE' });
    try {
      const { rows } = await pool.query(
        `insert into projects (owner_id, title, title_key, description) values ($1, $2, $3, $4) returning ${PROJECT_COLUMNS}`,
        [userId, title, key, request.body.description ?? null],
      );
      return await reply.code(201).send({ status: 'Success', data: rows[0] });
    } catch (err) {
      if ((err as { code?: string }).code === '23505') return reply.code(409).send({ status: 'Failed', code: 'DUPLICATE_RESOURCE' });
      throw err;
    }
  },
);

await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
process.stdout.write('listening\n');
