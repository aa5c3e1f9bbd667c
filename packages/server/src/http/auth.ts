import { AppError } from "@session-bridge/shared";
import type { MiddlewareHandler } from "hono";
import type { App } from "../app.ts";
import { tokenRequest } from "./api-schemas.ts";
import type { HttpApp, HttpContext, HttpEnv } from "./http-env.ts";
import { isoTime } from "./iso-time.ts";
import { parseInput, readJson } from "./request-input.ts";

export class UnauthorizedError extends AppError {
  readonly code = "unauthorized";

  constructor() {
    super("A valid bearer token is required (POST /api/auth/token exchanges an API key for one)");
  }
}

export class InvalidApiKeyError extends AppError {
  readonly code = "invalid_api_key";

  constructor() {
    super("That API key is not valid");
  }
}

export class AuthDisabledError extends AppError {
  readonly code = "auth_disabled";

  constructor() {
    super("Authentication is off (AUTH=none): no token is needed");
  }
}

export class RateLimitedError extends AppError {
  readonly code = "rate_limited";

  constructor(override readonly retryAfterSeconds: number) {
    super(`Too many failed attempts; try again in ${retryAfterSeconds} s`);
  }
}

/** The paths under `/api` that need no token. */
const publicApiPaths = new Set(["/api/auth/token", "/api/openapi.json"]);
const failureWindowMs = 60_000;
const maxFailuresPerWindow = 10;

/**
 * Every `/api` request acts for one resource: `"local"` with `AUTH=none`, the
 * bearer token's user with `AUTH=apikey`. The API key itself is never a bearer
 * token. Failed token requests are limited per client address.
 */
export function registerAuth(http: HttpApp, app: App): void {
  const failures = new Map<string, number[]>();
  const clientOf = (context: HttpContext) => context.env?.incoming?.socket.remoteAddress ?? "unknown";

  const requireResource: MiddlewareHandler<HttpEnv> = async (context, next) => {
    if (isPublicPath(context.req.path)) return next();
    if (app.config.auth === "none") {
      context.set("resourceId", "local");
      return next();
    }
    const header = context.req.header("authorization") ?? "";
    const token = /^Bearer\s+(\S+)$/i.exec(header)?.[1];
    const userId = token ? await app.users.verifyToken(token) : undefined;
    if (!userId) throw new UnauthorizedError();
    context.set("resourceId", userId);
    return next();
  };
  http.use("/api/*", requireResource);

  http.post("/api/auth/token", async (context) => {
    if (app.config.auth === "none") throw new AuthDisabledError();
    const client = clientOf(context);
    const now = app.clock.now().getTime();
    const recent = (failures.get(client) ?? []).filter((at) => now - at < failureWindowMs);
    if (recent.length >= maxFailuresPerWindow) {
      const retryAfter = Math.ceil((failureWindowMs - (now - (recent[0] ?? now))) / 1000);
      throw new RateLimitedError(retryAfter);
    }
    const { apiKey } = parseInput(tokenRequest, await readJson(context));
    const issued = await app.users.issueToken(apiKey, app.config.tokenTtlMs);
    if (!issued) {
      if (failures.size > 10_000) {
        // Only a cache: forget clients whose failures are all old.
        for (const [key, times] of failures) if (times.every((at) => now - at >= failureWindowMs)) failures.delete(key);
      }
      failures.set(client, [...recent, now]);
      throw new InvalidApiKeyError();
    }
    return context.json({ token: issued.token, expiresAt: isoTime(issued.expiresAt) });
  });
}

/** The resource the request acts for, set by the auth middleware. */
export function resourceOf(context: HttpContext): string {
  const resourceId = context.get("resourceId");
  if (!resourceId) throw new UnauthorizedError();
  return resourceId;
}

/**
 * Whether a path is served without a bearer token: everything outside `/api`
 * (`/api/*` in Hono matches `/api` too) and the token and OpenAPI routes. The
 * auth middleware and the OpenAPI document's `security` both ask this.
 */
export function isPublicPath(path: string): boolean {
  return publicApiPaths.has(path) || !(path === "/api" || path.startsWith("/api/"));
}
