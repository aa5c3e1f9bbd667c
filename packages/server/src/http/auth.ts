import { AppError } from "@session-bridge/shared";
import type { Context } from "hono";
import type { App } from "../app.ts";

export class UnauthorizedError extends AppError {
  readonly code = "unauthorized";

  constructor() {
    super("A valid bearer token is required");
  }
}

/**
 * The resource (user) a request acts for: `"local"` with `AUTH=none`. API-key
 * users and tokens arrive with the users issue; until then `AUTH=apikey`
 * refuses every `/api` request rather than guessing.
 */
export function resourceOf(_context: Context, app: App): string {
  if (app.config.auth === "none") return "local";
  throw new UnauthorizedError();
}
