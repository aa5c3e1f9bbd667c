import type { TestContext } from "node:test";
import type { Clock } from "@session-bridge/core";
import { createHttpApp, type Embedder, type LanguageModelV4StreamPart, startHttpServer } from "@session-bridge/server";
import type { ChatMessage } from "@session-bridge/shared";
import { DefaultChatTransport, readUIMessageStream, simulateReadableStream, type UIMessageChunk } from "ai";
import { MockLanguageModelV4 } from "ai/test";
import { v7 as uuidv7 } from "uuid";
import { mockUsage, textAnswerChunks } from "../fixtures/model-chunks.ts";
import type { BackendName } from "./_backends.ts";
import { makeTempDir, makeTestApp } from "./_setup.ts";

/** The model's chunks for a plain text answer, a delta a word. */
export function textChunks(text: string): LanguageModelV4StreamPart[] {
  return textAnswerChunks(text.match(/\S+\s*/g) ?? [], { id: "t1", usage: mockUsage(11, 4) });
}

/** A mock model answering each call with the next of `answers` (the last repeats), `delayMs` between chunks. */
export function scriptedModel(answers: (string | LanguageModelV4StreamPart[])[], delayMs = 0) {
  let call = 0;
  return new MockLanguageModelV4({
    doStream: async () => {
      const answer = answers[Math.min(call++, answers.length - 1)] ?? "";
      return {
        stream: simulateReadableStream({
          chunks: typeof answer === "string" ? textChunks(answer) : answer,
          chunkDelayInMs: delayMs,
        }),
      };
    },
  });
}

export async function startChatServer(
  t: TestContext,
  options: {
    model?: MockLanguageModelV4;
    dataDir?: string;
    environment?: Record<string, string>;
    clock?: Clock;
    backend?: BackendName;
    embedder?: Embedder;
  } = {},
) {
  const dataDir = options.dataDir ?? (await makeTempDir(t));
  const app = await makeTestApp(t, {
    dataDir,
    ...(options.backend ? { backend: options.backend } : {}),
    ...(options.environment ? { environment: options.environment } : {}),
    ...(options.model ? { model: options.model } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.embedder ? { embedder: options.embedder } : {}),
  });
  const server = await startHttpServer(createHttpApp(app), {
    host: "127.0.0.1",
    port: 0,
    requestTimeoutMs: app.config.requestTimeoutMs,
  });
  t.after(() => server.close());
  /** `environment` (with `dataDir`) opens the same data again: a restart, or a second server process. */
  return { app, url: server.url, dataDir, environment: app.environment };
}

export const userMessage = (text: string, id = uuidv7()): ChatMessage => ({
  id,
  role: "user",
  parts: [{ type: "text", text }],
});

/** Sends a turn with the AI SDK's own transport and reads it with its own reader. */
export async function sendChat(
  url: string,
  options: {
    messages: ChatMessage[];
    sessionId?: string | null;
    abortSignal?: AbortSignal;
    chatId?: string;
    token?: string;
    /** Sees each chunk as it arrives. */
    onChunk?: (chunk: UIMessageChunk) => void;
  },
): Promise<{ chunks: UIMessageChunk[]; message: ChatMessage | undefined }> {
  const transport = new DefaultChatTransport({
    api: `${url}/api/chat`,
    ...(options.token ? { headers: { authorization: `Bearer ${options.token}` } } : {}),
  });
  const stream = await transport.sendMessages({
    trigger: "submit-message",
    chatId: options.chatId ?? "chat-1",
    messageId: undefined,
    messages: options.messages,
    abortSignal: options.abortSignal,
    body: options.sessionId === undefined ? {} : { sessionId: options.sessionId },
  });
  const chunks: UIMessageChunk[] = [];
  const recorded = stream.pipeThrough(
    new TransformStream<UIMessageChunk, UIMessageChunk>({
      transform(chunk, controller) {
        chunks.push(chunk);
        options.onChunk?.(chunk);
        controller.enqueue(chunk);
      },
    }),
  );
  let message: ChatMessage | undefined;
  for await (const snapshot of readUIMessageStream<ChatMessage>({ stream: recorded })) message = snapshot;
  return { chunks, message };
}

/**
 * Sends a turn like `sendChat` and resolves once its answer has begun (the first
 * text delta reached the client), so the turn is running and holds its session's
 * lease; `finished` is what `sendChat` resolves with. Fails if the turn ends first.
 */
export async function sendChatUntilAnswerBegins(
  url: string,
  options: Omit<Parameters<typeof sendChat>[1], "onChunk">,
): Promise<{ finished: ReturnType<typeof sendChat> }> {
  let answerBegan = () => {};
  const began = new Promise<void>((resolve) => {
    answerBegan = resolve;
  });
  const finished = sendChat(url, {
    ...options,
    onChunk: (chunk) => {
      if (chunk.type === "text-delta") answerBegan();
    },
  });
  const endedFirst = finished.then(() => {
    throw new Error("the turn ended before its answer began");
  });
  await Promise.race([began, endedFirst]);
  return { finished };
}

export function sessionIdOf(chunks: UIMessageChunk[]): string {
  const part = chunks.find((chunk) => chunk.type === "data-session") as { data: { sessionId: string } } | undefined;
  if (!part) throw new Error("no data-session part");
  return part.data.sessionId;
}

export async function postJson(url: string, body: unknown, options: { path?: string; token?: string } = {}) {
  const response = await fetch(`${url}${options.path ?? "/api/chat"}`, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return {
    status: response.status,
    headers: response.headers,
    body: (await response.json().catch(() => null)) as { error?: { code: string } },
  };
}

/** Any JSON API call: status and parsed body (`null` for an empty one). */
export async function callApi(
  url: string,
  method: string,
  path: string,
  options: { token?: string; body?: unknown } = {},
): Promise<{ status: number; body: Record<string, unknown> & { error?: { code: string; message: string } } }> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: {
      ...(options.body === undefined ? {} : { "content-type": "application/json" }),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
    },
    ...(options.body === undefined
      ? {}
      : { body: typeof options.body === "string" ? options.body : JSON.stringify(options.body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}
