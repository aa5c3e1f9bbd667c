import { readUIMessageStream, type UIMessage, type UIMessageChunk } from "ai";

/**
 * The chunks that rebuild a stored assistant message on the client: used to
 * answer a retried user message without calling the model again. Covers what
 * turns store: steps, text, reasoning, tool calls with their outcome.
 */
export function chunksOfStoredMessage(message: UIMessage): UIMessageChunk[] {
  const chunks: UIMessageChunk[] = [];
  message.parts.forEach((part, index) => {
    const id = `replay-${index}`;
    if (part.type === "step-start") {
      chunks.push({ type: "start-step" });
    } else if (part.type === "text") {
      chunks.push({ type: "text-start", id }, { type: "text-delta", id, delta: part.text }, { type: "text-end", id });
    } else if (part.type === "reasoning") {
      chunks.push(
        { type: "reasoning-start", id },
        { type: "reasoning-delta", id, delta: part.text },
        { type: "reasoning-end", id },
      );
    } else if (part.type.startsWith("tool-")) {
      const tool = part as {
        type: string;
        toolCallId: string;
        input?: unknown;
        output?: unknown;
        errorText?: string;
        state: string;
      };
      const toolName = part.type.slice("tool-".length);
      chunks.push({ type: "tool-input-available", toolCallId: tool.toolCallId, toolName, input: tool.input });
      if (tool.state === "output-available") {
        chunks.push({ type: "tool-output-available", toolCallId: tool.toolCallId, output: tool.output });
      } else if (tool.state === "output-error") {
        chunks.push({ type: "tool-output-error", toolCallId: tool.toolCallId, errorText: tool.errorText ?? "" });
      }
    }
  });
  return chunks;
}

/**
 * The assistant message a (possibly cut short) stream of chunks builds, as the
 * client built it, without the `data-session` part; `undefined` before `start`.
 */
export async function messageOfChunks(chunks: UIMessageChunk[]): Promise<UIMessage | undefined> {
  const modelChunks = chunks.filter((chunk) => chunk.type !== "error");
  if (!modelChunks.some((chunk) => chunk.type === "start")) return undefined;
  let message: UIMessage | undefined;
  const stream = new ReadableStream<UIMessageChunk>({
    start(controller) {
      for (const chunk of modelChunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  for await (const snapshot of readUIMessageStream({ stream })) message = snapshot;
  return message && { ...message, parts: message.parts.filter((part) => part.type !== "data-session") };
}
