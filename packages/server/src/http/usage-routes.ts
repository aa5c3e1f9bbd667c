import type { App } from "../app.ts";
import { resourceOf } from "./auth.ts";
import type { HttpApp } from "./http-env.ts";

/** `GET /api/usage`: the caller's model usage per day and model. */
export function registerUsageRoutes(http: HttpApp, app: App): void {
  http.get("/api/usage", async (context) => context.json({ usage: await app.usage.list(resourceOf(context)) }));
}
