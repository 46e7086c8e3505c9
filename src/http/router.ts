import { OpenAPIHono, type RouteConfig } from '@hono/zod-openapi';
import type { Context, Env, MiddlewareHandler } from 'hono';
import type { z } from '@hono/zod-openapi';
import type { AppEnv } from './app-deps.ts';
import { validationHook } from './validation.ts';

type Part = 'query' | 'param' | 'header' | 'json';

/** A request part as Hono's validator reads it; headers only by the names the schema declares. */
async function read(c: Context, part: Part, schema: z.ZodType): Promise<unknown> {
  switch (part) {
    case 'query':
      return Object.fromEntries(Object.entries(c.req.queries()).map(([name, values]) => [name, values.length === 1 ? values[0] : values]));
    case 'param':
      return c.req.param();
    case 'header':
      return Object.fromEntries(Object.keys((schema as z.ZodObject).shape).map((name) => [name, c.req.header(name)]));
    case 'json':
      // The JSON body gate, in every route with a body before this, has read, parsed and cached it.
      return c.req.json();
  }
}

/** The parts a route declares, in the order zod-openapi validated them (query, path, headers, body). */
function declaredParts(request: RouteConfig['request']): [Part, z.ZodType][] {
  const parts: [Part, z.ZodType | undefined][] = [
    ['query', request?.query],
    ['param', request?.params],
    ['header', request?.headers as z.ZodType | undefined],
    ['json', (request?.body?.content['application/json'] as { schema?: z.ZodType } | undefined)?.schema],
  ];
  return parts.filter((p): p is [Part, z.ZodType] => p[1] !== undefined);
}

/**
 * One middleware validating every part a route declares, with validationHook's answers. zod-openapi
 * puts a middleware per part in the chain, each parsing asynchronously, plus a media-type gate the
 * JSON body gate before it has already passed; every level costs each request a promise and a
 * closure, and the header part copied every request header to check one.
 */
function validation(request: RouteConfig['request']): MiddlewareHandler | undefined {
  const parts = declaredParts(request);
  if (parts.length === 0) return undefined;
  return async (c, next) => {
    for (const [part, schema] of parts) {
      const result = schema.safeParse(await read(c, part, schema));
      validationHook(result.success ? result : { ...result, target: part });
      c.req.addValidatedData(part, result.data as object);
    }
    await next();
  };
}

/**
 * A router whose request validation fails in the API's own envelope (VALIDATION_FAILED with field
 * codes, 404 for a malformed path id): every feature's routes and the app itself are built on one.
 * Routes are documented as zod-openapi documents them; their requests are validated by one
 * middleware each (see validation).
 */
class Router<E extends Env> extends OpenAPIHono<E> {
  override openapi = (({ middleware, hide, ...route }: RouteConfig, handler: MiddlewareHandler) => {
    if (!hide) this.openAPIRegistry.registerPath(route);
    const validate = validation(route.request);
    const chain = [...(middleware === undefined ? [] : [middleware].flat()), ...(validate ? [validate] : []), handler];
    this.on([route.method], [route.path.replaceAll(/\/{(.+?)}/g, '/:$1')], ...(chain as [MiddlewareHandler]));
    return this;
  }) as unknown as OpenAPIHono<E>['openapi'];
}

export function createRouter<E extends Env = AppEnv>(): OpenAPIHono<E> {
  return new Router<E>({ defaultHook: validationHook });
}
