import type { HttpBindings } from "@hono/node-server";
import type { Context, Hono } from "hono";

/**
 * What every handler of the HTTP layer sees, so that context variables and
 * bindings are typed instead of cast.
 */
export interface HttpEnv {
  Variables: {
    /**
     * The resource the request acts for, set by the auth middleware on every
     * non-public `/api` route. Optional because public routes have none: read
     * it with `resourceOf(context)`, which refuses a request without one.
     */
    resourceId?: string;
  };
  /** The Node request behind the Fetch one; absent under `http.request()` in tests. */
  Bindings: Partial<HttpBindings>;
}

/** The Hono app the route modules register on. */
export type HttpApp = Hono<HttpEnv>;

/** A handler's context. */
export type HttpContext = Context<HttpEnv>;
