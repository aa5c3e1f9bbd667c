import { SessionNotFoundError } from "@session-bridge/shared";
import { createUIMessageStreamResponse } from "ai";
import type { App } from "../app.ts";
import { parseChatRequest } from "../turns/chat-request.ts";
import { resourceOf } from "./auth.ts";
import type { HttpApp } from "./http-env.ts";
import { pathSessionId, readJson } from "./request-input.ts";

/** `POST /api/chat`, `POST /api/sessions/:id/stop`, `GET /api/sessions/:id/trace`. */
export function registerChatRoutes(http: HttpApp, app: App): void {
  http.post("/api/chat", async (context) => {
    const resourceId = resourceOf(context);
    const request = await parseChatRequest(await readJson(context));
    const { stream } = await app.turns.start(request, resourceId);
    return createUIMessageStreamResponse({ stream });
  });

  http.get("/api/chat/:id/stream", async (context) => {
    // `:id` is a session id or the chat id useChat sent; 204 when nothing runs
    // under it for this caller (another user's running turn included).
    const id = context.req.param("id");
    const stream = id.length <= 200 ? await app.turns.resume(resourceOf(context), id) : undefined;
    return stream ? createUIMessageStreamResponse({ stream }) : context.body(null, 204);
  });

  http.post("/api/sessions/:id/stop", async (context) => {
    const sessionId = pathSessionId(context);
    const session = await app.sessions.get(resourceOf(context), sessionId);
    // Unknown and other users' sessions are 404 like everywhere; 204 also when nothing runs.
    if (!session) throw new SessionNotFoundError(sessionId);
    await app.turns.stop(session.resourceId, session.id);
    return context.body(null, 204);
  });

  http.get("/api/sessions/:id/trace", async (context) => {
    const resourceId = resourceOf(context);
    const sessionId = pathSessionId(context);
    const session = await app.sessions.get(resourceId, sessionId);
    if (!session) throw new SessionNotFoundError(sessionId);
    return context.json({ turns: await app.traces.listForSession(session.id) });
  });
}
