import { createRoute, z } from '@hono/zod-openapi';
import type { AppDeps } from '../http/app-deps.ts';
import { jsonBody } from '../http/json-body.ts';
import { errorResponses, IdParams, jsonResponse, successBody, SESSION_SECURITY, successSchema } from '../http/openapi.ts';
import { createRouter } from '../http/router.ts';
import { idempotency, IdempotencyKeyHeader } from '../idempotency/idempotency.middleware.ts';
import { requireAuth } from '../auth/auth.middleware.ts';
import { etag, ifMatchVersions } from './projects.preconditions.ts';
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
import { respondJson } from '../http/json-response.ts';

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

const common = { tags: ['projects'], security: SESSION_SECURITY };

const CREATE = createRoute({
  ...common,
  method: 'post',
  path: '/api/projects',
  operationId: 'createProject',
  summary: 'Create a project',
  description:
    'A title already held by one of your live projects (compared by its key: see docs/spec.md) is a 409 `DUPLICATE_RESOURCE` whose `conflict` points at that project. Accepts `Idempotency-Key`: a retry with the same key gets the first response back.',
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
});

const LIST = createRoute({
  ...common,
  method: 'get',
  path: '/api/projects',
  operationId: 'listProjects',
  summary: 'List your projects, newest first',
  description:
    'Newest first. Pass `meta.nextCursor` as `cursor` for the next page (`null` on the last); `deleted` chooses live, all, or only soft-deleted projects; `title` keeps those whose title contains it (case, width and spacing ignored, as for uniqueness).',
  request: { query: ListQuery },
  responses: { 200: jsonResponse('A page of projects', ProjectListSchema), ...errorResponses('VALIDATION_FAILED', 'UNAUTHENTICATED') },
});

const GET = createRoute({
  ...common,
  method: 'get',
  path: '/api/projects/{id}',
  operationId: 'getProject',
  summary: 'One project (a deleted one too, with deletedAt set)',
  description: "A soft-deleted project too, with `deletedAt` set. The `ETag` is what `If-Match` takes. Another owner's project is a 404.",
  request: { params: IdParams },
  responses: { 200: single('The project'), ...errorResponses('UNAUTHENTICATED', 'NOT_FOUND_RESOURCE') },
});

const UPDATE = createRoute({
  ...common,
  method: 'patch',
  path: '/api/projects/{id}',
  operationId: 'updateProject',
  summary: 'Rename or re-describe a live project',
  description:
    'With `If-Match`, a stale `ETag` is a 412, and two writers holding one `ETag` cannot both win. A title held by another live project is 409 `DUPLICATE_RESOURCE` with `conflict`; a soft-deleted project is 409 `RESOURCE_STATE_CONFLICT` (restore it first). `description: null` clears it.',
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
});

const DELETE = createRoute({
  ...common,
  method: 'delete',
  path: '/api/projects/{id}',
  operationId: 'deleteProject',
  summary: 'Soft-delete a project (again: 204)',
  description:
    'Soft delete: the title is free again and the project can be restored. Deleting a deleted project again is a 204. With `If-Match`, a stale `ETag` is a 412.',
  request: { params: IdParams, headers: IfMatchHeader },
  responses: {
    204: { description: 'Deleted' },
    ...errorResponses('UNAUTHENTICATED', 'FORBIDDEN', 'NOT_FOUND_RESOURCE', 'PRECONDITION_FAILED', 'RESOURCE_STATE_CONFLICT'),
  },
});

const RESTORE = createRoute({
  ...common,
  method: 'post',
  path: '/api/projects/{id}/restore',
  operationId: 'restoreProject',
  summary: 'Restore a soft-deleted project',
  description:
    'A live project is returned as it is. If another live project has taken the title meanwhile, 409 `DUPLICATE_RESOURCE` with `conflict`. Accepts `Idempotency-Key`.',
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
});

/** Routes under /api/projects; every one needs a signed-in user and sees only their projects. */
export function projectsRoutes(deps: AppDeps) {
  const auth = requireAuth(deps);
  const jsonGate = jsonBody(deps.config.bodyLimitBytes, deps.readBody);
  const idempotent = idempotency(deps);

  return createRouter()
    .openapi({ ...CREATE, middleware: [auth, jsonGate, idempotent] as const }, async (c) => {
      const project = await createProject(c.get('db'), c.get('caller').user.id, c.req.valid('json'));
      return respondJson(c, successBody(projectView(project)), 201, { Location: projectLocation(project.id), ETag: etag(project.version) });
    })
    .openapi({ ...LIST, middleware: [auth] as const }, async (c) => {
      const { items, nextCursor } = await listOwnProjects(c.get('db'), c.get('caller').user.id, c.req.valid('query'));
      return respondJson(c, { status: 'Success' as const, data: items.map(projectView), meta: { nextCursor } }, 200);
    })
    .openapi({ ...GET, middleware: [auth] as const }, async (c) => {
      const project = await getProject(c.get('db'), c.get('caller').user.id, c.req.valid('param').id);
      return respondJson(c, successBody(projectView(project)), 200, { ETag: etag(project.version) });
    })
    .openapi({ ...UPDATE, middleware: [auth, jsonGate] as const }, async (c) => {
      const versions = ifMatchVersions(c.req.valid('header')['if-match']);
      const project = await updateProject(c.get('db'), c.get('caller').user.id, c.req.valid('param').id, c.req.valid('json'), versions);
      return respondJson(c, successBody(projectView(project)), 200, { ETag: etag(project.version) });
    })
    .openapi({ ...DELETE, middleware: [auth] as const }, async (c) => {
      await deleteProject(
        c.get('db'),
        c.get('caller').user.id,
        c.req.valid('param').id,
        ifMatchVersions(c.req.valid('header')['if-match']),
      );
      return c.body(null, 204);
    })
    .openapi({ ...RESTORE, middleware: [auth, idempotent] as const }, async (c) => {
      const project = await restoreOwnProject(c.get('db'), c.get('caller').user.id, c.req.valid('param').id);
      return respondJson(c, successBody(projectView(project)), 200, { ETag: etag(project.version) });
    });
}
