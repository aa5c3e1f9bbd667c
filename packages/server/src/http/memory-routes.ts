import type { Memory } from "@session-bridge/core";
import { MemoryNotFoundError, SessionNotFoundError } from "@session-bridge/shared";
import type { App } from "../app.ts";
import { memoryListQuery, newMemory } from "./api-schemas.ts";
import { resourceOf } from "./auth.ts";
import type { HttpApp } from "./http-env.ts";
import { isoTime } from "./iso-time.ts";
import { parseInput, parseSessionId, pathMemoryId, readJson } from "./request-input.ts";

/** A memory as the HTTP API shows it. */
function memoryJson(memory: Memory) {
  return {
    id: memory.id,
    scope: memory.scope,
    sessionId: memory.sessionId,
    text: memory.text,
    createdAt: isoTime(memory.createdAt),
  };
}

/** `GET|POST /api/memories`, `DELETE /api/memories/:id`. */
export function registerMemoryRoutes(http: HttpApp, app: App): void {
  http.get("/api/memories", async (context) => {
    const resourceId = resourceOf(context);
    const query = parseInput(memoryListQuery, context.req.query());
    const sessionId = query.sessionId === undefined ? undefined : parseSessionId(query.sessionId);
    // Listing another user's session's memories must look exactly like a missing session.
    if (sessionId && !(await app.sessions.get(resourceId, sessionId))) throw new SessionNotFoundError(sessionId);
    const memories = await app.memories.list(resourceId, {
      ...(query.scope ? { scope: query.scope } : {}),
      ...(sessionId ? { sessionId } : {}),
    });
    return context.json({ memories: memories.map(memoryJson) });
  });

  http.post("/api/memories", async (context) => {
    const resourceId = resourceOf(context);
    const body = parseInput(newMemory, await readJson(context));
    const sessionId = body.sessionId == null ? null : parseSessionId(body.sessionId);
    const memory = await app.memories.add(resourceId, { scope: body.scope, sessionId, text: body.text });
    return context.json({ memory: memoryJson(memory) }, 201);
  });

  http.delete("/api/memories/:id", async (context) => {
    const memoryId = pathMemoryId(context);
    if (!(await app.memories.delete(resourceOf(context), memoryId))) throw new MemoryNotFoundError(memoryId);
    return context.body(null, 204);
  });
}
