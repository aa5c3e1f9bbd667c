import {
  AppError,
  InvalidRequestError,
  MethodNotAllowedError,
  PayloadTooLargeError,
  RequestTimeoutError,
  RouteNotFoundError,
} from "@session-bridge/shared";
import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { App } from "../app.ts";
import { registerAuth } from "./auth.ts";
import { registerChatRoutes } from "./chat-routes.ts";
import { toErrorResponse } from "./error-response.ts";
import type { HttpApp, HttpEnv } from "./http-env.ts";
import { registerMemoryRoutes } from "./memory-routes.ts";
import { openApiDocument } from "./openapi.ts";
import { registerPlaygroundRoutes } from "./playground-routes.ts";
import { requestId as newRequestId } from "./request-id.ts";
import { servedRoutes } from "./served-routes.ts";
import { registerSessionRoutes } from "./session-routes.ts";
import { registerUsageRoutes } from "./usage-routes.ts";

export const maxBodyBytes = 1_048_576;

/**
 * The HTTP interface over a built {@link App}: every answer is JSON, every
 * error has the contract's shape, every request gets an id in its logs.
 *
 * @example
 * const http = createHttpApp(app);
 * const response = await http.request("/healthz");
 */
export function createHttpApp(app: App): HttpApp {
  const http: HttpApp = new Hono<HttpEnv>();

  http.use(async (context, next) => {
    const requestId = newRequestId();
    const started = performance.now();
    context.header("x-request-id", requestId);
    await next();
    app.logger.info(
      {
        requestId,
        method: context.req.method,
        path: context.req.path,
        status: context.res.status,
        ms: Math.round(performance.now() - started),
      },
      "request",
    );
  });
  const limitBody = bodyLimit({
    maxSize: maxBodyBytes,
    onError: async (context) => {
      // Read the rest of the body before answering: a server that answers
      // while the client is still sending looks to many clients like a reset.
      await drain(context.req.raw.body, 16 * maxBodyBytes);
      context.header("connection", "close");
      throw new PayloadTooLargeError(maxBodyBytes);
    },
  });
  // GET and HEAD requests have no body here (the Node adapter gives them none); asking
  // for one would build the full Fetch Request that the adapter otherwise never makes.
  const mayHaveBody = (method: string) => method !== "GET" && method !== "HEAD";
  http.use((context, next) => (mayHaveBody(context.req.method) ? limitBody(context, next) : next()));

  http.use(async (context, next) => {
    // The body is read before the handler's clock starts: a client too slow to
    // send it gets 408 from the HTTP server instead (see startHttpServer).
    if (mayHaveBody(context.req.method) && context.req.raw.body) {
      await context.req.arrayBuffer().catch((error: unknown) => {
        throw new InvalidRequestError("The request body could not be read", { cause: error });
      });
    }
    await next();
  });
  http.use(async (_context, next) => {
    // From the body's last byte to the answer's first: a streamed turn runs on after its response started.
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new RequestTimeoutError(app.config.requestTimeoutMs)),
        app.config.requestTimeoutMs,
      );
    });
    try {
      await Promise.race([next(), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  });
  http.get("/healthz", (context) => context.json({ status: "ok" }));
  http.get("/readyz", async (context) => {
    try {
      const migrations = await app.migrationStatus();
      const ready = migrations.applied === migrations.available;
      return context.json({ status: ready ? "ready" : "migrations_pending", migrations }, ready ? 200 : 503);
    } catch (error) {
      app.logger.warn({ err: error }, "readiness check failed");
      return context.json({ status: "database_unreachable" }, 503);
    }
  });

  const openApi = JSON.stringify(openApiDocument());
  http.get("/api/openapi.json", (context) => context.body(openApi, 200, { "content-type": "application/json" }));

  registerAuth(http, app);
  registerChatRoutes(http, app);
  registerSessionRoutes(http, app);
  registerMemoryRoutes(http, app);
  registerUsageRoutes(http, app);
  registerPlaygroundRoutes(http);

  // Any other method on a served path is a 405 naming the ones it answers; registered
  // last, so these catch-alls only run when no route of the path matched the method.
  for (const [path, methods] of servedRoutes(http)) {
    http.all(path, (context) => {
      throw new MethodNotAllowedError(context.req.method, methods);
    });
  }
  http.notFound(() => {
    throw new RouteNotFoundError();
  });
  http.onError((error, context) => {
    const { status, body } = toErrorResponse(error, app.logger);
    if (error instanceof MethodNotAllowedError) context.header("allow", error.allowed.join(", "));
    if (AppError.isInstance(error) && error.retryAfterSeconds !== undefined) {
      context.header("retry-after", String(error.retryAfterSeconds));
    }
    return context.json(body, status);
  });
  return http;
}

/** Reads and discards a request body, up to `limit` bytes. */
async function drain(body: ReadableStream<Uint8Array> | null, limit: number): Promise<void> {
  if (!body || body.locked) return;
  let read = 0;
  const reader = body.getReader();
  try {
    while (read <= limit) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.byteLength;
    }
  } catch {
    // the client went away; nothing to answer
  } finally {
    reader.releaseLock();
  }
}
