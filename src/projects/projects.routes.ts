import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import type { AppDeps, AppEnv } from '../http/env.ts';
import { jsonBody } from '../http/json-body.ts';
import { errorResponses, IdParams, jsonResponse, ok, SESSION_SECURITY, success } from '../http/openapi.ts';
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
    .openapi({ description: 'The `ETag` you last saw; a stale one is 412', example: '"1"' }),
});

const etagHeader = { ETag: { schema: { type: 'string' as const }, description: '"<version>"' } };

function single(description: string) {
  return { ...jsonResponse(description, success(ProjectSchema)), headers: etagHeader };
}

/** Routes under /api/projects; every one needs a signed-in user and sees only their projects. */
export function projectsRoutes(deps: AppDeps) {
  const { db, config } = deps;
  const auth = requireAuth(deps);
  const body = jsonBody(config.bodyLimitBytes);
  const once = idempotency(deps);
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  const common = { tags: ['projects'], security: SESSION_SECURITY };

  app.openapi(
    createRoute({
      ...common,
      method: 'post',
      path: '/api/projects',
      summary: 'Create a project',
      middleware: [auth, body, once] as const,
      request: { headers: IdempotencyKeyHeader, body: { required: true, content: { 'application/json': { schema: ProjectCreateBody } } } },
      responses: {
        201: { ...single('The new project'), headers: { ...etagHeader, Location: { schema: { type: 'string' } } } },
        ...errorResponses(
          'INVALID_JSON',
          'VALIDATION_FAILED',
          'UNAUTHENTICATED',
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
      return c.json(ok(projectView(project)), 201, { Location: projectLocation(project.id), ETag: etag(project.version) });
    },
  );

  app.openapi(
    createRoute({
      ...common,
      method: 'get',
      path: '/api/projects',
      summary: 'List your projects, newest first',
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
      summary: 'One project (a deleted one too, with deletedAt set)',
      middleware: [auth] as const,
      request: { params: IdParams },
      responses: { 200: single('The project'), ...errorResponses('UNAUTHENTICATED', 'NOT_FOUND_RESOURCE') },
    }),
    async (c) => {
      const project = await getProject(db, c.get('caller').user.id, c.req.valid('param').id);
      return c.json(ok(projectView(project)), 200, { ETag: etag(project.version) });
    },
  );

  app.openapi(
    createRoute({
      ...common,
      method: 'patch',
      path: '/api/projects/{id}',
      summary: 'Rename or re-describe a live project',
      middleware: [auth, body] as const,
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
      return c.json(ok(projectView(project)), 200, { ETag: etag(project.version) });
    },
  );

  app.openapi(
    createRoute({
      ...common,
      method: 'delete',
      path: '/api/projects/{id}',
      summary: 'Soft-delete a project (again: 204)',
      middleware: [auth] as const,
      request: { params: IdParams, headers: IfMatchHeader },
      responses: {
        204: { description: 'Deleted' },
        ...errorResponses('UNAUTHENTICATED', 'NOT_FOUND_RESOURCE', 'PRECONDITION_FAILED', 'RESOURCE_STATE_CONFLICT'),
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
      summary: 'Restore a soft-deleted project',
      middleware: [auth, once] as const,
      request: { params: IdParams, headers: IdempotencyKeyHeader },
      responses: {
        200: single('The restored project'),
        ...errorResponses('VALIDATION_FAILED', 'UNAUTHENTICATED', 'NOT_FOUND_RESOURCE', 'DUPLICATE_RESOURCE', 'IDEMPOTENCY_KEY_IN_USE', 'IDEMPOTENCY_KEY_MISMATCH'),
      },
    }),
    async (c) => {
      const project = await restoreOwnProject(c.get('db'), c.get('caller').user.id, c.req.valid('param').id);
      return c.json(ok(projectView(project)), 200, { ETag: etag(project.version) });
    },
  );

  return app;
}
