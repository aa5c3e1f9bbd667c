import type { Session } from "@session-bridge/core";
import { SessionNotFoundError } from "@session-bridge/shared";
import type { App } from "../app.ts";
import { pageRequest } from "../storage/session-page.ts";
import { createAnswerCache } from "./answer-cache.ts";
import { renameRequest, sessionListQuery } from "./api-schemas.ts";
import { resourceOf } from "./auth.ts";
import type { HttpApp, HttpContext } from "./http-env.ts";
import { isoTime } from "./iso-time.ts";
import { parseInput, pathSessionId, readJson } from "./request-input.ts";

/** A session as the HTTP API shows it. */
function sessionJson(session: Session, messageCount: number) {
  return {
    id: session.id,
    title: session.title,
    createdAt: isoTime(session.createdAt),
    lastAccessed: isoTime(session.lastAccessed),
    messageCount,
  };
}

/**
 * `GET /api/sessions`, `GET|PATCH|DELETE /api/sessions/:id`. The two reads
 * answer from an `AnswerCache` while the resource's sessions version
 * (read first, in one statement) is the one the answer was made at; where
 * there is no version (not both databases embedded files, or a version
 * trigger missing) or `API_CACHE_MB` is 0, every read is made afresh.
 */
export function registerSessionRoutes(http: HttpApp, app: App): void {
  const version = app.sessionsVersion;
  const cache = version && app.config.apiCacheBytes > 0 ? createAnswerCache(app.config.apiCacheBytes) : undefined;
  const encoder = new TextEncoder();
  /** `build()`'s JSON, or the bytes it gave at the resource's version, read before anything else. */
  const answer = async (context: HttpContext, resourceId: string, request: string, build: () => Promise<unknown>) => {
    const current = cache && version ? await version(resourceId) : undefined;
    if (!cache || current === undefined) return context.json(await build());
    let body = cache.get(resourceId, request, current);
    if (!body) {
      // Its own buffer, exactly its size (Buffer.from would share an 8 KB pool slab).
      body = encoder.encode(JSON.stringify(await build()));
      cache.set(resourceId, request, current, body);
    }
    return context.body(body, 200, { "content-type": "application/json" });
  };

  http.get("/api/sessions", async (context) => {
    const query = parseInput(sessionListQuery, context.req.query());
    const resourceId = resourceOf(context);
    // Keyed by the page it asks for, not its spelling: a cursor decodes from many strings.
    const { limit, after } = pageRequest(query);
    return answer(context, resourceId, JSON.stringify(["list", limit, after?.lastAccessed, after?.id]), async () => {
      const page = await app.listSessions(resourceId, query);
      return {
        sessions: page.sessions.map((session) => sessionJson(session, session.messageCount)),
        nextCursor: page.nextCursor,
      };
    });
  });

  http.get("/api/sessions/:id", async (context) => {
    const resourceId = resourceOf(context);
    const sessionId = pathSessionId(context);
    return answer(context, resourceId, JSON.stringify(["session", sessionId]), async () => {
      const session = await app.sessions.get(resourceId, sessionId);
      if (!session) throw new SessionNotFoundError(sessionId);
      // A running turn's answer, saved step by step, is not shown until it ends (resume streams it).
      const messages = await app.memory.listMessages(session.id, resourceId);
      return { session: sessionJson(session, messages.length), messages };
    });
  });

  http.patch("/api/sessions/:id", async (context) => {
    const resourceId = resourceOf(context);
    const sessionId = pathSessionId(context);
    const { title } = parseInput(renameRequest, await readJson(context));
    const session = await app.sessions.rename(resourceId, sessionId, title);
    if (!session) throw new SessionNotFoundError(sessionId);
    const counts = await app.memory.countMessages([session.id]);
    return context.json({ session: sessionJson(session, counts.get(session.id) ?? 0) });
  });

  http.delete("/api/sessions/:id", async (context) => {
    const resourceId = resourceOf(context);
    const sessionId = pathSessionId(context);
    const session = await app.sessions.get(resourceId, sessionId);
    if (!session) throw new SessionNotFoundError(sessionId);
    // A running turn ends first, so that nothing it saves outlives the session.
    await app.turns.stop(resourceId, session.id, { wait: true });
    if (!(await app.sessions.delete(resourceId, session.id))) throw new SessionNotFoundError(sessionId);
    return context.body(null, 204);
  });
}
