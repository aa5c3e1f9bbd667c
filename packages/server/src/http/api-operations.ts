import type { ErrorCode } from "@session-bridge/shared";
import type { z } from "zod";
import {
  chatRequest,
  health,
  memoryList,
  memoryListQuery,
  memoryResponse,
  newMemory,
  renameRequest,
  sessionDetail,
  sessionList,
  sessionListQuery,
  sessionResponse,
  tokenRequest,
  tokenResponse,
  trace,
  usage,
} from "./api-schemas.ts";
import { playgroundPaths } from "./playground-routes.ts";

/** A response body that is not described by a JSON schema: its media type. */
export type MediaType = "application/json" | "text/event-stream" | "text/html" | "text/javascript" | "text/css";

/**
 * One documented route. The list is written by hand, next to nothing that
 * could keep it honest, so `test/http.test.ts` compares it both ways with the
 * routes the built Hono app serves.
 */
export interface Operation {
  method: "get" | "post" | "patch" | "delete";
  /** Hono style: `/api/sessions/:id`. */
  path: string;
  summary: string;
  /** A schema of `api-schemas.ts` (registered there, so it becomes a component). */
  body?: z.ZodType;
  query?: z.ZodObject;
  /** Success status → a registered JSON schema, a media type, or `null` for no body. */
  responses: Record<number, z.ZodType | MediaType | null>;
  /**
   * Error codes particular to this route. Those every route shares are added
   * by the document builder: 405, 500 and 503 everywhere, 401 where a token is
   * needed (`isPublicPath` says where not), 400 and 413 where there is a body
   * or a query to check.
   */
  errors?: ErrorCode[];
  /** What a status means for this route, where its status text and error codes do not say it. */
  notes?: Record<number, string>;
}

const sessionLookup: ErrorCode[] = ["invalid_session_id", "session_not_found"];

export const operations: Operation[] = [
  {
    method: "post",
    path: "/api/auth/token",
    summary: "Exchange an API key for a bearer token",
    body: tokenRequest,
    responses: { 200: tokenResponse },
    errors: ["auth_disabled", "invalid_api_key", "rate_limited"],
  },
  {
    method: "post",
    path: "/api/chat",
    summary: "Run a chat turn; streams an AI SDK UI message stream (SSE)",
    body: chatRequest,
    responses: { 200: "text/event-stream" },
    errors: [...sessionLookup, "unsupported_file_url", "session_busy", "server_busy"],
  },
  {
    method: "get",
    path: "/api/chat/:id/stream",
    summary: "Resume the running turn's stream from its start (id: session id or chat id)",
    responses: { 200: "text/event-stream", 204: null },
    notes: { 204: "No turn of the caller's is running under this id" },
  },
  {
    method: "get",
    path: "/api/sessions",
    summary: "The caller's sessions, most recently used first",
    query: sessionListQuery,
    responses: { 200: sessionList },
  },
  {
    method: "get",
    path: "/api/sessions/:id",
    summary: "A session with its messages as UIMessage[]",
    responses: { 200: sessionDetail },
    errors: sessionLookup,
  },
  {
    method: "patch",
    path: "/api/sessions/:id",
    summary: "Rename a session",
    body: renameRequest,
    responses: { 200: sessionResponse },
    errors: sessionLookup,
  },
  {
    method: "delete",
    path: "/api/sessions/:id",
    summary: "Delete a session with its messages, vectors, tool sessions, memories and trace",
    responses: { 204: null },
    errors: sessionLookup,
  },
  {
    method: "post",
    path: "/api/sessions/:id/stop",
    summary: "Stop the running turn; its partial answer is saved as stopped",
    responses: { 204: null },
    errors: sessionLookup,
  },
  {
    method: "get",
    path: "/api/sessions/:id/trace",
    summary: "What each turn of the session did",
    responses: { 200: trace },
    errors: sessionLookup,
  },
  {
    method: "get",
    path: "/api/memories",
    summary: "The caller's memories",
    query: memoryListQuery,
    responses: { 200: memoryList },
    errors: sessionLookup,
  },
  {
    method: "post",
    path: "/api/memories",
    summary: "Add a user or session memory",
    body: newMemory,
    responses: { 201: memoryResponse },
    errors: sessionLookup,
  },
  {
    method: "delete",
    path: "/api/memories/:id",
    summary: "Delete a memory",
    responses: { 204: null },
    errors: ["invalid_request", "memory_not_found"],
  },
  {
    method: "get",
    path: "/api/usage",
    summary: "The caller's model usage per day and model",
    responses: { 200: usage },
  },
  { method: "get", path: "/healthz", summary: "Liveness", responses: { 200: health } },
  {
    method: "get",
    path: "/readyz",
    summary: "Readiness: database reachable, migrations applied",
    responses: { 200: health, 503: health },
    notes: { 503: "Not ready: the database is unreachable or migrations are pending (status says which)" },
  },
  {
    method: "get",
    path: "/api/openapi.json",
    summary: "This document",
    responses: { 200: "application/json" },
  },
  {
    method: "get",
    path: playgroundPaths.page,
    summary: "The playground: a chat page on useChat (it asks for an API key itself when AUTH=apikey)",
    responses: { 200: "text/html" },
  },
  {
    method: "get",
    path: playgroundPaths.script,
    summary: "The playground's script, bundled when first asked for",
    responses: { 200: "text/javascript" },
  },
  {
    method: "get",
    path: playgroundPaths.styles,
    summary: "The playground's styles",
    responses: { 200: "text/css" },
  },
];
