import {
  InvalidJsonError,
  InvalidRequestError,
  InvalidSessionIdError,
  isUuid,
  sessionIdSchema,
} from "@session-bridge/shared";
import type { z } from "zod";
import type { HttpContext } from "./http-env.ts";

// Reading and validating a request's input, shared by every route module: ids
// in paths are checked before any lookup, bodies and queries by their schemas.

/**
 * Parses a request's input, or throws `invalid_request` naming the first bad field.
 *
 * @example
 * const { title } = parseInput(renameRequest, await readJson(context));
 */
export function parseInput<T extends z.ZodType>(schema: T, value: unknown): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue?.path.join(".") || "body";
  throw new InvalidRequestError(`${field}: ${issue?.message ?? "invalid"}`, { field });
}

/** The request's JSON body, whatever its content type says; `invalid_json` when it is not JSON. */
export async function readJson(context: HttpContext): Promise<unknown> {
  try {
    return await context.req.json();
  } catch (error) {
    if (error instanceof SyntaxError || (error as Error).name === "SyntaxError") throw new InvalidJsonError();
    throw error;
  }
}

/** The `:id` of a session path, lower-cased; `invalid_session_id` when malformed. */
export function pathSessionId(context: HttpContext): string {
  return parseSessionId(context.req.param("id") ?? "");
}

/** A session id from a query or body, lower-cased; `invalid_session_id` when malformed. */
export function parseSessionId(raw: string): string {
  const parsed = sessionIdSchema.safeParse(raw);
  if (!parsed.success) throw new InvalidSessionIdError(raw);
  return parsed.data;
}

/** The `:id` of a memory path, lower-cased; `invalid_request` naming `id` when it is not a UUID. */
export function pathMemoryId(context: HttpContext): string {
  const memoryId = context.req.param("id") ?? "";
  if (!isUuid(memoryId)) throw new InvalidRequestError("id: must be a UUID", { field: "id" });
  return memoryId.toLowerCase();
}
