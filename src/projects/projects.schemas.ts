import { z } from '@hono/zod-openapi';
import { BIDI_CONTROLS, titleKey } from '../canonical.ts';
import { text } from '../http/validation.ts';
import type { Project } from '../db/schema.ts';
import { IdParams } from '../http/openapi.ts';
import type { ListCursor } from './projects.repository.ts';

/**
 * A listing cursor (`meta.nextCursor`: base64url JSON `[createdAt, id]`) as the query parameter
 * carries it; anything the database would refuse (not a UUID, a year it cannot store) is the
 * client's 400 `cursor` `format`, decided here where the parameter is parsed.
 */
function decodeCursor(cursor: string, ctx: z.core.$RefinementCtx<string>): ListCursor {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2) {
      const [at, id] = value as unknown[];
      const createdAt = typeof at === 'string' ? new Date(at) : new Date(NaN);
      const year = createdAt.getUTCFullYear();
      if (year >= 1 && year <= 9999 && IdParams.shape.id.safeParse(id).success) return { createdAt, id: id as string };
    }
  } catch {
    // Falls through to the issue below.
  }
  ctx.addIssue({ code: 'custom', message: 'format', input: cursor });
  return z.NEVER;
}

/** More marks than this on one base are no writing system's (Vietnamese needs two, Tibetan stacks a few). */
const MAX_MARKS = 8;

/**
 * Title: trimmed, NFC, 1–100 characters, no bidi controls, at most 8 marks on a base, something
 * visible; unique per owner among live projects by `titleKey`.
 */
export const Title = text({
  min: 1,
  max: 100,
  forbidden: BIDI_CONTROLS,
  trim: true,
  normalize: 'NFC',
  maxMarks: MAX_MARKS,
  key: titleKey,
}).openapi({ example: 'Alpha' });

/** Description: at most 2000 characters and 8 marks on a base. */
export const Description = text({ min: 0, max: 2000, maxMarks: MAX_MARKS }).openapi({ example: 'The first project' });

export const ProjectCreateBody = z.object({ title: Title, description: Description.optional() }).openapi('ProjectCreateRequest');

export const ProjectPatchBody = z
  .object({
    title: Title.optional(),
    description: Description.nullable().optional().openapi({ description: '`null` clears it' }),
  })
  .openapi('ProjectPatchRequest');

export const ListQuery = z.object({
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(100)
    .default(20)
    .openapi({ param: { name: 'limit', in: 'query', description: 'Projects per page, 1–100' }, example: 20 }),
  cursor: z
    .string()
    .max(200)
    .transform(decodeCursor)
    .optional()
    .openapi({ param: { name: 'cursor', in: 'query' }, description: '`meta.nextCursor` of the previous page' }),
  deleted: z
    .enum(['exclude', 'include', 'only'])
    .default('exclude')
    .openapi({ param: { name: 'deleted', in: 'query' }, description: 'Whether soft-deleted projects are listed' }),
  title: z
    .string()
    .max(100)
    .optional()
    .openapi({
      param: { name: 'title', in: 'query' },
      description: 'Only projects whose title contains this, compared as titles are for uniqueness (case, width and spacing ignored)',
    }),
});

const timestamp = z.iso.datetime().openapi({ example: '2026-11-22T12:00:00.000Z' });

export const ProjectSchema = z
  .object({
    id: z.uuid(),
    title: z.string(),
    description: z.string().nullable(),
    version: z.number().int().openapi({ description: 'Also sent as `ETag: "<version>"`' }),
    createdAt: timestamp,
    updatedAt: timestamp,
    deletedAt: timestamp.nullable(),
  })
  .openapi('Project');

export const ProjectListSchema = z
  .object({
    status: z.literal('Success'),
    data: z.array(ProjectSchema),
    meta: z.object({ nextCursor: z.string().nullable() }),
  })
  .openapi('ProjectList');

/** A project as the API shows it. */
export function projectView(p: Project): z.infer<typeof ProjectSchema> {
  return {
    id: p.id,
    title: p.title,
    description: p.description,
    version: p.version,
    createdAt: p.created_at.toISOString(),
    updatedAt: p.updated_at.toISOString(),
    deletedAt: p.deleted_at?.toISOString() ?? null,
  };
}
