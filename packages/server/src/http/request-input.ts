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

/** Deepest nesting of arrays and objects a request body may have. */
export const maxJsonDepth = 64;

/**
 * The request's JSON body, whatever its content type says; `invalid_json`
 * when it is not JSON, `invalid_request` when it nests deeper than
 * {@link maxJsonDepth} (nothing the API takes is that deep, and code that walks
 * such a value recursively runs out of stack).
 */
export async function readJson(context: HttpContext): Promise<unknown> {
  let body: unknown;
  try {
    body = await context.req.json();
  } catch (error) {
    if (error instanceof SyntaxError || (error as Error).name === "SyntaxError") throw new InvalidJsonError();
    throw error;
  }
  if (depthOf(body) > maxJsonDepth) {
    throw new InvalidRequestError(`body: nests deeper than ${maxJsonDepth} levels`, { field: "body" });
  }
  return body;
}

/** How deep arrays and objects nest in a JSON value, walked without recursion. */
function depthOf(value: unknown): number {
  let deepest = 0;
  const pending: [unknown, number][] = [[value, 0]];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const [item, depth] = next;
    if (typeof item !== "object" || item === null) continue;
    deepest = Math.max(deepest, depth + 1);
    if (deepest > maxJsonDepth) return deepest;
    for (const child of Object.values(item)) pending.push([child, depth + 1]);
  }
  return deepest;
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
