import type { Hono } from "hono";
import type { App } from "../app.ts";
import { resourceOf } from "./auth.ts";

/** `GET /api/usage`: the caller's model usage per day and model. */
export function registerUsageRoutes(http: Hono, app: App): void {
  http.get("/api/usage", async (context) => context.json({ usage: await app.usage.list(resourceOf(context)) }));
}
