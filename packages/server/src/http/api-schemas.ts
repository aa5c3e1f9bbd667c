import { maxMemoryLength } from "@session-bridge/core";
import { cleanTextSchema, errorCodes, recallChannels } from "@session-bridge/shared";
import { z } from "zod";
import { chatBodySchema } from "../turns/chat-request.ts";

/**
 * The HTTP API's request and response shapes. Routes parse their input with
 * these; `GET /api/openapi.json` is generated from the same schemas, so the
 * document cannot drift from what the server accepts and answers.
 */
export const apiSchemas = z.registry<{ id: string; description?: string }>();

const named = <T extends z.ZodType>(schema: T, id: string, description?: string): T => {
  apiSchemas.add(schema, description ? { id, description } : { id });
  return schema;
};

const timestamp = z.iso.datetime();

/** The codes an HTTP answer can carry (the table also holds those of tools and the command line). */
const httpErrorCodes = Object.entries(errorCodes).flatMap(([code, { surface }]) => (surface === "http" ? [code] : []));

export const errorBody = named(
  z.object({
    error: z.object({
      code: z.enum(httpErrorCodes).describe("snake_case, stable: clients may switch on it"),
      message: z.string().describe("for humans"),
    }),
  }),
  "Error",
  "Every error has this shape",
);

export const tokenRequest = named(z.object({ apiKey: z.string().min(1).max(500) }), "TokenRequest");
export const tokenResponse = named(z.object({ token: z.string(), expiresAt: timestamp }), "TokenResponse");

export const chatRequest = named(chatBodySchema, "ChatRequest", "useChat's request body plus an optional sessionId");

export const session = named(
  z.object({
    id: z.uuid(),
    title: z.string().nullable(),
    createdAt: timestamp,
    lastAccessed: timestamp,
    messageCount: z.number().int(),
  }),
  "Session",
);

export const sessionListQuery = z.object({
  limit: z.coerce.number().int().min(1).max(100).optional(),
  cursor: z.string().max(500).optional(),
});
export const sessionList = named(
  z.object({ sessions: z.array(session), nextCursor: z.string().nullable() }),
  "SessionList",
  "Most recently used first",
);
export const sessionDetail = named(
  z.object({
    session,
    messages: z.array(z.looseObject({ id: z.string(), role: z.string(), parts: z.array(z.unknown()) })),
  }),
  "SessionDetail",
  "messages are AI SDK UIMessages, ready for useChat",
);
export const renameRequest = named(
  z.object({ title: cleanTextSchema.pipe(z.string().trim().min(1).max(200)) }),
  "RenameRequest",
);
export const sessionResponse = named(z.object({ session }), "SessionResponse");

export const trace = named(
  z.object({
    turns: z.array(
      z.object({
        id: z.string(),
        startedAt: timestamp,
        endedAt: timestamp.nullable(),
        outcome: z.string(),
        model: z.string(),
        transitions: z.array(z.object({ state: z.string(), at: timestamp })),
        recalled: z.array(
          z.object({
            messageId: z.string(),
            sessionId: z.string(),
            excerpt: z.string(),
            score: z.number(),
            // Absent in turns recorded before the keyword channel existed.
            foundBy: z.array(z.enum(recallChannels)).optional(),
          }),
        ),
        toolCalls: z.array(
          z.object({
            toolName: z.string(),
            input: z.unknown(),
            output: z.unknown().optional(),
            error: z.string().optional(),
          }),
        ),
        usage: z.object({ inputTokens: z.number(), outputTokens: z.number() }),
      }),
    ),
  }),
  "Trace",
);

const memoryScope = z.enum(["user", "session"]);
export const memory = named(
  z.object({
    id: z.string(),
    scope: memoryScope,
    sessionId: z.string().nullable(),
    text: z.string(),
    createdAt: timestamp,
  }),
  "Memory",
  "A standing instruction: user memories apply to every session of the user, session memories to one",
);
export const memoryListQuery = z.object({ scope: memoryScope.optional(), sessionId: z.string().optional() });
export const newMemory = named(
  z.object({
    scope: memoryScope,
    sessionId: z.string().nullable().optional(),
    text: cleanTextSchema.pipe(z.string().max(maxMemoryLength)),
  }),
  "NewMemory",
);
export const memoryResponse = named(z.object({ memory }), "MemoryResponse");
export const memoryList = named(z.object({ memories: z.array(memory) }), "MemoryList");

export const usage = named(
  z.object({
    usage: z.array(
      z.object({
        day: z.string().describe("YYYY-MM-DD, UTC"),
        model: z.string(),
        turns: z.number().int(),
        inputTokens: z.number().int(),
        outputTokens: z.number().int(),
      }),
    ),
  }),
  "Usage",
  "The caller's model usage per day and model, newest day first",
);

export const health = named(z.object({ status: z.string() }), "Health");
