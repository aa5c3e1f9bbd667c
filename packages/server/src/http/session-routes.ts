import type { Session } from "@session-bridge/core";
import { SessionNotFoundError } from "@session-bridge/shared";
import type { App } from "../app.ts";
import { renameRequest, sessionListQuery } from "./api-schemas.ts";
import { resourceOf } from "./auth.ts";
import type { HttpApp } from "./http-env.ts";
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

/** `GET /api/sessions`, `GET|PATCH|DELETE /api/sessions/:id`. */
export function registerSessionRoutes(http: HttpApp, app: App): void {
  http.get("/api/sessions", async (context) => {
    const query = parseInput(sessionListQuery, context.req.query());
    const page = await app.listSessions(resourceOf(context), query);
    return context.json({
      sessions: page.sessions.map((session) => sessionJson(session, session.messageCount)),
      nextCursor: page.nextCursor,
    });
  });

  http.get("/api/sessions/:id", async (context) => {
    const resourceId = resourceOf(context);
    const sessionId = pathSessionId(context);
    const session = await app.sessions.get(resourceId, sessionId);
    if (!session) throw new SessionNotFoundError(sessionId);
    // A running turn's answer, saved step by step, is not shown until it ends (resume streams it).
    const messages = await app.memory.listMessages(session.id, resourceId);
    return context.json({ session: sessionJson(session, messages.length), messages });
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
