import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../http/app-deps.ts';
import { jsonBody } from '../http/json-body.ts';
import { errorResponses, IdParams, jsonResponse, successBody, SESSION_SECURITY, successSchema } from '../http/openapi.ts';
import { etag, ifMatchVersions } from '../http/preconditions.ts';
import { validationHook } from '../http/validation.ts';
import { idempotency, IdempotencyKeyHeader } from '../idempotency/idempotency.middleware.ts';
import { requireAuth } from '../sessions/auth.middleware.ts';
import { ListQuery, ProjectCreateBody, ProjectListSchema, ProjectPatchBody, ProjectSchema, projectView } from './projects.schemas.ts';
import {
  createProject,
  deleteProject,
  getProject,
  listOwnProjects,
  projectLocation,
  restoreOwnProject,
  updateProject,
} from './projects.service.ts';

const IfMatchHeader = z.object({
  'if-match': z
    .string()
    .optional()
    // No `example`: Swagger UI would pre-fill it, and a stale tag is a 412.
    .openapi({ description: 'The `ETag` you last saw, e.g. `"1"`; a stale one is a 412' }),
});

const etagHeader = { ETag: { schema: { type: 'string' as const }, description: '"<version>"' } };

function single(description: string) {
  return { ...jsonResponse(description, successSchema(ProjectSchema)), headers: etagHeader };
}

/** Routes under /api/projects; every one needs a signed-in user and sees only their projects. */
export function projectsRoutes(deps: AppDeps) {
  const { db, config } = deps;
  const auth = requireAuth(deps);
  const jsonGate = jsonBody(config.bodyLimitBytes, deps.readBody);
  const idempotent = idempotency(deps);
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  const common = { tags: ['projects'], security: SESSION_SECURITY };

  app.openapi(
    createRoute({
      ...common,
      method: 'post',
      path: '/api/projects',
      operationId: 'createProject',
      summary: 'Create a project',
      description:
        'A title already held by one of your live projects (compared trimmed and case-insensitively) is a 409 `DUPLICATE_RESOURCE` whose `conflict` points at that project. Accepts `Idempotency-Key`: a retry with the same key gets the first response back.',
      middleware: [auth, jsonGate, idempotent] as const,
      request: { headers: IdempotencyKeyHeader, body: { required: true, content: { 'application/json': { schema: ProjectCreateBody } } } },
      responses: {
        201: { ...single('The new project'), headers: { ...etagHeader, Location: { schema: { type: 'string' } } } },
        ...errorResponses(
          'INVALID_JSON',
          'VALIDATION_FAILED',
          'UNAUTHENTICATED',
          'FORBIDDEN',
          'DUPLICATE_RESOURCE',
          'IDEMPOTENCY_KEY_IN_USE',
          'IDEMPOTENCY_KEY_MISMATCH',
          'PAYLOAD_TOO_LARGE',
          'UNSUPPORTED_MEDIA_TYPE',
        ),
      },
    }),
    async (c) => {
      const project = await createProject(c.get('db'), c.get('caller').user.id, c.req.valid('json'));
      return c.json(successBody(projectView(project)), 201, { Location: projectLocation(project.id), ETag: etag(project.version) });
    },
  );

  app.openapi(
    createRoute({
      ...common,
      method: 'get',
      path: '/api/projects',
      operationId: 'listProjects',
      summary: 'List your projects, newest first',
      description:
        'Newest first. Pass `meta.nextCursor` as `cursor` for the next page (`null` on the last); `deleted` chooses live, all, or only soft-deleted projects.',
      middleware: [auth] as const,
      request: { query: ListQuery },
      responses: { 200: jsonResponse('A page of projects', ProjectListSchema), ...errorResponses('VALIDATION_FAILED', 'UNAUTHENTICATED') },
    }),
    async (c) => {
      const { items, nextCursor } = await listOwnProjects(db, c.get('caller').user.id, c.req.valid('query'));
      return c.json({ status: 'Success' as const, data: items.map(projectView), meta: { nextCursor } }, 200);
    },
  );

  app.openapi(
    createRoute({
      ...common,
      method: 'get',
      path: '/api/projects/{id}',
      operationId: 'getProject',
      summary: 'One project (a deleted one too, with deletedAt set)',
      description:
        "A soft-deleted project too, with `deletedAt` set. The `ETag` is what `If-Match` takes. Another owner's project is a 404.",
      middleware: [auth] as const,
      request: { params: IdParams },
      responses: { 200: single('The project'), ...errorResponses('UNAUTHENTICATED', 'NOT_FOUND_RESOURCE') },
    }),
    async (c) => {
      const project = await getProject(db, c.get('caller').user.id, c.req.valid('param').id);
      return c.json(successBody(projectView(project)), 200, { ETag: etag(project.version) });
    },
  );

  app.openapi(
    createRoute({
      ...common,
      method: 'patch',
      path: '/api/projects/{id}',
      operationId: 'updateProject',
      summary: 'Rename or re-describe a live project',
      description:
        'With `If-Match`, a stale `ETag` is a 412, and two writers holding one `ETag` cannot both win. A title held by another live project is 409 `DUPLICATE_RESOURCE` with `conflict`; a soft-deleted project is 409 `RESOURCE_STATE_CONFLICT` (restore it first). `description: null` clears it.',
      middleware: [auth, jsonGate] as const,
      request: {
        params: IdParams,
        headers: IfMatchHeader,
        body: { required: true, content: { 'application/json': { schema: ProjectPatchBody } } },
      },
      responses: {
        200: single('The changed project'),
        ...errorResponses(
          'INVALID_JSON',
          'VALIDATION_FAILED',
          'UNAUTHENTICATED',
          'FORBIDDEN',
          'NOT_FOUND_RESOURCE',
          'DUPLICATE_RESOURCE',
          'RESOURCE_STATE_CONFLICT',
          'PRECONDITION_FAILED',
          'PAYLOAD_TOO_LARGE',
          'UNSUPPORTED_MEDIA_TYPE',
        ),
      },
    }),
    async (c) => {
      const project = await updateProject(
        db,
        c.get('caller').user.id,
        c.req.valid('param').id,
        c.req.valid('json'),
        ifMatchVersions(c.req.valid('header')['if-match']),
      );
      return c.json(successBody(projectView(project)), 200, { ETag: etag(project.version) });
    },
  );

  app.openapi(
    createRoute({
      ...common,
      method: 'delete',
      path: '/api/projects/{id}',
      operationId: 'deleteProject',
      summary: 'Soft-delete a project (again: 204)',
      description:
        'Soft delete: the title is free again and the project can be restored. Deleting a deleted project again is a 204. With `If-Match`, a stale `ETag` is a 412.',
      middleware: [auth] as const,
      request: { params: IdParams, headers: IfMatchHeader },
      responses: {
        204: { description: 'Deleted' },
        ...errorResponses('UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND_RESOURCE', 'PRECONDITION_FAILED', 'RESOURCE_STATE_CONFLICT'),
      },
    }),
    async (c) => {
      await deleteProject(db, c.get('caller').user.id, c.req.valid('param').id, ifMatchVersions(c.req.valid('header')['if-match']));
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      ...common,
      method: 'post',
      path: '/api/projects/{id}/restore',
      operationId: 'restoreProject',
      summary: 'Restore a soft-deleted project',
      description:
        'A live project is returned as it is. If another live project has taken the title meanwhile, 409 `DUPLICATE_RESOURCE` with `conflict`. Accepts `Idempotency-Key`.',
      middleware: [auth, idempotent] as const,
      request: { params: IdParams, headers: IdempotencyKeyHeader },
      responses: {
        200: single('The restored project'),
        ...errorResponses(
          'VALIDATION_FAILED',
          'UNAUTHENTICATED',
          'FORBIDDEN',
          'NOT_FOUND_RESOURCE',
          'DUPLICATE_RESOURCE',
          'IDEMPOTENCY_KEY_IN_USE',
          'IDEMPOTENCY_KEY_MISMATCH',
        ),
      },
    }),
    async (c) => {
      const project = await restoreOwnProject(c.get('db'), c.get('caller').user.id, c.req.valid('param').id);
      return c.json(successBody(projectView(project)), 200, { ETag: etag(project.version) });
    },
  );

  return app;
}
