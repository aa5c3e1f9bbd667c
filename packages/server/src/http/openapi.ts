import { readFileSync } from "node:fs";
import { z } from "zod";
import { apiSchemas, memoryListQuery, sessionListQuery } from "./api-schemas.ts";

type Method = "get" | "post" | "patch" | "delete";

interface Operation {
  method: Method;
  /** Hono style: `/api/sessions/:id`. */
  path: string;
  summary: string;
  /** False for the public routes. */
  auth?: boolean;
  /** A schema id in {@link apiSchemas}. */
  body?: string;
  query?: z.ZodObject;
  /** Status → schema id, or `null` for no body. */
  responses: Record<number, string | null>;
  /** Error statuses this route may answer besides 400, 401 and 500. */
  errors?: number[];
  /** Responses that are not JSON. */
  stream?: boolean;
}

const operations: Operation[] = [
  {
    method: "post",
    path: "/api/auth/token",
    summary: "Exchange an API key for a bearer token",
    auth: false,
    body: "TokenRequest",
    responses: { 200: "TokenResponse" },
    errors: [401, 429],
  },
  {
    method: "post",
    path: "/api/chat",
    summary: "Run a chat turn; streams an AI SDK UI message stream (SSE)",
    body: "ChatRequest",
    responses: { 200: null },
    errors: [404, 409, 413],
    stream: true,
  },
  {
    method: "get",
    path: "/api/chat/:id/stream",
    summary: "Resume the running turn's stream from its start (id: session id or chat id); 204 when none runs",
    responses: { 200: null, 204: null },
    stream: true,
  },
  {
    method: "get",
    path: "/api/sessions",
    summary: "The caller's sessions, most recently used first",
    query: sessionListQuery,
    responses: { 200: "SessionList" },
  },
  {
    method: "get",
    path: "/api/sessions/:id",
    summary: "A session with its messages as UIMessage[]",
    responses: { 200: "SessionDetail" },
    errors: [404],
  },
  {
    method: "patch",
    path: "/api/sessions/:id",
    summary: "Rename a session",
    body: "RenameRequest",
    responses: { 200: "SessionResponse" },
    errors: [404],
  },
  {
    method: "delete",
    path: "/api/sessions/:id",
    summary: "Delete a session with its messages, vectors, tool sessions, memories and trace",
    responses: { 204: null },
    errors: [404],
  },
  {
    method: "post",
    path: "/api/sessions/:id/stop",
    summary: "Stop the running turn; its partial answer is saved as stopped",
    responses: { 204: null },
    errors: [404],
  },
  {
    method: "get",
    path: "/api/sessions/:id/trace",
    summary: "What each turn of the session did",
    responses: { 200: "Trace" },
    errors: [404],
  },
  {
    method: "get",
    path: "/api/memories",
    summary: "The caller's memories",
    query: memoryListQuery,
    responses: { 200: "MemoryList" },
    errors: [404],
  },
  {
    method: "post",
    path: "/api/memories",
    summary: "Add a user or session memory",
    body: "NewMemory",
    responses: { 201: "MemoryResponse" },
    errors: [404],
  },
  {
    method: "delete",
    path: "/api/memories/:id",
    summary: "Delete a memory",
    responses: { 204: null },
    errors: [404],
  },
  {
    method: "get",
    path: "/api/usage",
    summary: "The caller's model usage per day and model",
    responses: { 200: "Usage" },
  },
  { method: "get", path: "/healthz", summary: "Liveness", auth: false, responses: { 200: "Health" } },
  {
    method: "get",
    path: "/readyz",
    summary: "Readiness: database reachable, migrations applied",
    auth: false,
    responses: { 200: "Health", 503: "Health" },
  },
  {
    method: "get",
    path: "/api/openapi.json",
    summary: "This document",
    auth: false,
    responses: { 200: null },
  },
];

const statusText: Record<number, string> = {
  200: "OK",
  201: "Created",
  204: "No content",
  400: "Invalid input (invalid_json, invalid_request, invalid_session_id, …)",
  401: "unauthorized (invalid_api_key on the token route)",
  404: "Not found (session_not_found, memory_not_found): also for other users' ids",
  409: "session_busy",
  413: "payload_too_large",
  429: "rate_limited",
  500: "internal_error",
  503: "Not ready, or request_timeout",
};

const ref = (id: string) => ({ $ref: `#/components/schemas/${id}` });

/**
 * The OpenAPI 3.1 document of the HTTP API, generated from the zod schemas the
 * routes parse with.
 */
export function openApiDocument(): Record<string, unknown> {
  const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  const { schemas } = z.toJSONSchema(apiSchemas, { uri: (id) => `#/components/schemas/${id}`, io: "input" });
  for (const schema of Object.values(schemas)) {
    delete schema.$schema;
    delete schema.$id;
  }
  const paths: Record<string, Record<string, unknown>> = {};
  for (const operation of operations) {
    const path = operation.path.replace(/:(\w+)/g, "{$1}");
    const responses: Record<string, unknown> = {};
    for (const [status, schema] of Object.entries(operation.responses)) {
      const content =
        operation.stream && status === "200"
          ? { "text/event-stream": {} }
          : schema
            ? { "application/json": { schema: ref(schema) } }
            : undefined;
      responses[status] = { description: statusText[Number(status)] ?? "", ...(content ? { content } : {}) };
    }
    const errorStatuses = [400, ...(operation.auth === false ? [] : [401]), ...(operation.errors ?? []), 500];
    for (const status of errorStatuses) {
      responses[status] = {
        description: statusText[status] ?? "",
        content: { "application/json": { schema: ref("Error") } },
      };
    }
    const parameters = [
      ...[...path.matchAll(/\{(\w+)\}/g)].map((match) => ({
        name: match[1],
        in: "path",
        required: true,
        schema: { type: "string" },
      })),
      ...Object.entries(operation.query?.shape ?? {}).map(([name, schema]) => ({
        name,
        in: "query",
        required: false,
        schema: withoutDialect(z.toJSONSchema(schema as z.ZodType, { io: "input" })),
      })),
    ];
    paths[path] = {
      ...paths[path],
      [operation.method]: {
        summary: operation.summary,
        ...(operation.auth === false ? { security: [] } : {}),
        ...(parameters.length > 0 ? { parameters } : {}),
        ...(operation.body
          ? { requestBody: { required: true, content: { "application/json": { schema: ref(operation.body) } } } }
          : {}),
        responses,
      },
    };
  }
  return {
    openapi: "3.1.0",
    info: {
      title: "Session Bridge",
      version,
      description: "Durable, per-user sessions and memory for AI SDK chat apps",
    },
    components: {
      schemas,
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "POST /api/auth/token" } },
    },
    security: [{ bearer: [] }],
    paths,
  };
}

function withoutDialect({ $schema: _, ...schema }: Record<string, unknown>) {
  return schema;
}

/** Every documented path with its methods (for 405 answers), Hono style. */
export const documentedRoutes: [string, string[]][] = [...new Set(operations.map((operation) => operation.path))].map(
  (path) => [
    path,
    operations.filter((operation) => operation.path === path).map((operation) => operation.method.toUpperCase()),
  ],
);
