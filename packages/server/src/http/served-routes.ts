import type { Env, Hono } from "hono";

/** A path as Hono writes it (`/api/sessions/:id`) with the methods it answers, in registration order. */
export type ServedRoute = [path: string, methods: string[]];

/**
 * The routes a built Hono app actually serves, read from its own route table:
 * what the 405 answers and the OpenAPI completeness test are derived from,
 * rather than from a list kept by hand beside the routes. Middleware and
 * catch-alls (`use`, `all`: method `ALL`) are not routes of their own.
 *
 * @example
 * servedRoutes(createHttpApp(app)); // [["/healthz", ["GET"]], ["/api/sessions/:id", ["GET", "PATCH", "DELETE"]], …]
 */
export function servedRoutes<E extends Env>(http: Hono<E>): ServedRoute[] {
  const methodsByPath = new Map<string, string[]>();
  for (const { path, method } of http.routes) {
    if (method === "ALL") continue;
    const methods = methodsByPath.get(path) ?? [];
    if (!methods.includes(method)) methods.push(method);
    methodsByPath.set(path, methods);
  }
  return [...methodsByPath];
}
