import { readFileSync } from "node:fs";
import { STATUS_CODES } from "node:http";
import { type ErrorCode, errorCodes } from "@session-bridge/shared";
import { z } from "zod";
import { type MediaType, type Operation, operations } from "./api-operations.ts";
import { apiSchemas, errorBody } from "./api-schemas.ts";
import { isPublicPath } from "./auth.ts";
import type { ServedRoute } from "./served-routes.ts";

/** The parts of the document its tests and clients read. */
export interface OpenApiDocument {
  openapi: "3.1.0";
  paths: Record<
    string,
    Record<string, { summary: string; responses: Record<string, unknown>; [field: string]: unknown }>
  >;
  components: { schemas: Record<string, unknown>; [field: string]: unknown };
  [field: string]: unknown;
}

/** What one status of an operation answers with, gathered before it is written out. */
interface ResponseParts {
  schemas: z.ZodType[];
  mediaType?: MediaType;
  codes: ErrorCode[];
}

/**
 * The OpenAPI 3.1 document of the HTTP API, built from {@link operations},
 * the zod schemas the routes parse with, and the error table (`errorCodes`),
 * which gives each error response its status and description.
 */
export function openApiDocument(): OpenApiDocument {
  const { version } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  const { schemas } = z.toJSONSchema(apiSchemas, { uri: (id) => `#/components/schemas/${id}`, io: "input" });
  for (const schema of Object.values(schemas)) {
    delete schema.$schema;
    delete schema.$id;
  }
  const paths: OpenApiDocument["paths"] = {};
  for (const operation of operations) {
    const path = operation.path.replace(/:(\w+)/g, "{$1}");
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
        ...(isPublicPath(operation.path) ? { security: [] } : {}),
        ...(parameters.length > 0 ? { parameters } : {}),
        ...(operation.body
          ? { requestBody: { required: true, content: { "application/json": { schema: ref(operation.body) } } } }
          : {}),
        responses: responsesOf(operation),
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

/** The routes a document describes, Hono style, to compare with what the app serves. */
export function documentedRoutes(document: Pick<OpenApiDocument, "paths">): ServedRoute[] {
  return Object.entries(document.paths).map(([path, methods]) => [
    path.replace(/\{(\w+)\}/g, ":$1"),
    Object.keys(methods).map((method) => method.toUpperCase()),
  ]);
}

/** The error codes a route may answer: its own and those every route shares. */
function errorCodesOf(operation: Operation): ErrorCode[] {
  const codes: ErrorCode[] = [];
  if (operation.body) codes.push("invalid_json", "invalid_request", "payload_too_large");
  if (operation.query) codes.push("invalid_request");
  if (!isPublicPath(operation.path)) codes.push("unauthorized");
  codes.push(...(operation.errors ?? []), "method_not_allowed", "internal_error", "request_timeout");
  return [...new Set(codes)];
}

function responsesOf(operation: Operation): Record<string, unknown> {
  const bodies = new Map<number, ResponseParts>();
  const entry = (status: number) => {
    const existing = bodies.get(status);
    if (existing) return existing;
    const created: ResponseParts = { schemas: [], codes: [] };
    bodies.set(status, created);
    return created;
  };
  for (const [status, body] of Object.entries(operation.responses)) {
    const response = entry(Number(status));
    if (typeof body === "string") response.mediaType = body;
    else if (body) response.schemas.push(body);
  }
  for (const code of errorCodesOf(operation)) entry(errorCodes[code].status).codes.push(code);

  const responses: Record<string, unknown> = {};
  for (const [status, { schemas, mediaType, codes }] of [...bodies].sort(([a], [b]) => a - b)) {
    // A status both a success and an error answer with (readiness' 503) takes either body.
    const all = [...schemas, ...(codes.length > 0 ? [errorBody] : [])].map(ref);
    const schema = all.length > 1 ? { oneOf: all } : all[0];
    const content = schema ? { "application/json": { schema } } : mediaType ? { [mediaType]: {} } : undefined;
    const note = operation.notes?.[status];
    const errors = codes.map((code) => `- \`${code}\`: ${errorCodes[code].description}`);
    responses[status] = {
      description: [`${STATUS_CODES[status] ?? status}${note ? `: ${note}` : ""}`, ...errors].join("\n"),
      ...(content ? { content } : {}),
    };
  }
  return responses;
}

function ref(schema: z.ZodType) {
  const id = apiSchemas.get(schema)?.id;
  if (!id) throw new Error("a schema in an operation must be registered in apiSchemas");
  return { $ref: `#/components/schemas/${id}` };
}

function withoutDialect({ $schema: _, ...schema }: Record<string, unknown>) {
  return schema;
}
