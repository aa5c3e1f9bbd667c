import type { ChatMessage } from "@session-bridge/shared";
import { createUIMessageStream, readUIMessageStream, type UIMessageChunk } from "ai";

type Part = ChatMessage["parts"][number];

/**
 * The chunks that rebuild a stored assistant message on the client: used to
 * answer a retried user message without calling the model again. Covers every
 * part the stream protocol can carry: steps, text, reasoning, files, sources,
 * data parts and tool calls (static and dynamic) with their outcome. The
 * `data-session` part is left out: the replay announces the session itself.
 */
export function chunksOfStoredMessage(message: ChatMessage): UIMessageChunk[] {
  return message.parts.flatMap((part, index) => chunksOfPart(part, `replay-${index}`));
}

function chunksOfPart(part: Part, id: string): UIMessageChunk[] {
  switch (part.type) {
    case "step-start":
      return [{ type: "start-step" }];
    case "text":
      return [
        { type: "text-start", id },
        { type: "text-delta", id, delta: part.text },
        { type: "text-end", id },
      ];
    case "reasoning":
      return [
        { type: "reasoning-start", id },
        { type: "reasoning-delta", id, delta: part.text },
        { type: "reasoning-end", id },
      ];
    case "file":
      return [{ type: "file", url: part.url, mediaType: part.mediaType }];
    case "source-url":
      return [{ type: "source-url", sourceId: part.sourceId, url: part.url, ...optional("title", part.title) }];
    case "source-document":
      return [
        {
          type: "source-document",
          sourceId: part.sourceId,
          mediaType: part.mediaType,
          title: part.title,
          ...optional("filename", part.filename),
        },
      ];
    case "dynamic-tool":
      return toolChunks({ ...part, dynamic: true });
    default:
      if (part.type === "data-session") return [];
      if (part.type.startsWith("data-")) {
        const data = part as { type: `data-${string}`; id?: string; data: unknown };
        return [{ type: data.type, ...optional("id", data.id), data: data.data }];
      }
      if (part.type.startsWith("tool-")) {
        return toolChunks({
          ...(part as unknown as ToolPart),
          toolName: part.type.slice("tool-".length),
          dynamic: false,
        });
      }
      return [];
  }
}

interface ToolPart {
  toolCallId: string;
  toolName: string;
  state: string;
  input?: unknown;
  output?: unknown;
  errorText?: string;
  title?: string;
  providerExecuted?: boolean;
  dynamic: boolean;
}

function toolChunks(tool: ToolPart): UIMessageChunk[] {
  const shared = {
    toolCallId: tool.toolCallId,
    ...optional("providerExecuted", tool.providerExecuted),
    ...(tool.dynamic ? { dynamic: true } : {}),
  };
  const chunks: UIMessageChunk[] = [
    {
      type: "tool-input-available",
      ...shared,
      toolName: tool.toolName,
      input: tool.input,
      ...optional("title", tool.title),
    },
  ];
  if (tool.state === "output-available") chunks.push({ type: "tool-output-available", ...shared, output: tool.output });
  if (tool.state === "output-error") {
    chunks.push({ type: "tool-output-error", ...shared, errorText: tool.errorText ?? "" });
  }
  if (tool.state === "output-denied") chunks.push({ type: "tool-output-denied", toolCallId: tool.toolCallId });
  return chunks;
}

/** `{ [key]: value }` when the value is there, `{}` otherwise (optional fields stay absent, not `undefined`). */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

/**
 * The assistant message a (possibly cut short) stream of chunks builds, exactly
 * as the client built it; `undefined` before `start`.
 */
export async function messageOfChunks(chunks: UIMessageChunk[]): Promise<ChatMessage | undefined> {
  const modelChunks = chunks.filter((chunk) => chunk.type !== "error");
  if (!modelChunks.some((chunk) => chunk.type === "start")) return undefined;
  let message: ChatMessage | undefined;
  const stream = new ReadableStream<UIMessageChunk>({
    start(controller) {
      for (const chunk of modelChunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  for await (const snapshot of readUIMessageStream<ChatMessage>({ stream })) message = snapshot;
  return message;
}

/** A stored answer sent again: `start`, `data-session`, its parts, `finish`. */
export function replayStream(
  answer: ChatMessage,
  sessionId: string,
  resourceId: string,
): ReadableStream<UIMessageChunk> {
  return createUIMessageStream<ChatMessage>({
    execute: ({ writer }) => {
      writer.write({ type: "start", messageId: answer.id, messageMetadata: answer.metadata });
      writer.write({ type: "data-session", id: "session", data: { sessionId, resourceId } });
      for (const chunk of chunksOfStoredMessage(answer)) writer.write(chunk as never);
      writer.write({ type: "finish", messageMetadata: answer.metadata });
    },
  });
}
