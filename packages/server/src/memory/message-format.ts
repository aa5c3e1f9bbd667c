import { type MastraDBMessage, MessageList } from "@mastra/core/agent/message-list";
import type { UIMessage } from "ai";

/** Keys Mastra adds to a UI message's metadata on the way out; not ours to show. */
const storageMetadataKeys = ["createdAt", "threadId", "resourceId"];

/**
 * AI SDK UI messages → Mastra's stored format, in the session's thread, with
 * `createdAt` from `start` plus one millisecond per message so their order holds.
 */
export function toStoredMessages(
  messages: UIMessage[],
  options: { threadId: string; resourceId: string; start: Date },
): MastraDBMessage[] {
  const list = new MessageList({ threadId: options.threadId, resourceId: options.resourceId });
  // Mastra types the AI SDK versions it bundles; at run time it detects v7 UI messages itself.
  list.add(messages as unknown as Parameters<MessageList["add"]>[0], "memory");
  return list.get.all.db().map((message, index) => ({
    ...message,
    threadId: options.threadId,
    resourceId: options.resourceId,
    createdAt: new Date(options.start.getTime() + index),
  }));
}

/** Mastra's stored format → AI SDK UI messages, as `useChat` expects them. */
export function toUiMessages(messages: MastraDBMessage[]): UIMessage[] {
  if (messages.length === 0) return [];
  const list = new MessageList();
  list.add(messages, "memory");
  return list.get.all.aiV7.ui().map((message) => {
    const metadata = { ...(message.metadata as Record<string, unknown> | undefined) };
    for (const key of storageMetadataKeys) delete metadata[key];
    // Mastra's conversion leaves `key: undefined` behind; a client never sees those over JSON.
    const parts = message.parts.map((part) =>
      Object.fromEntries(Object.entries(part).filter(([, value]) => value !== undefined)),
    );
    const { metadata: _dropped, ...rest } = message;
    return (Object.keys(metadata).length > 0 ? { ...rest, parts, metadata } : { ...rest, parts }) as UIMessage;
  });
}

/**
 * The text a stored message is embedded as: its text parts joined by spaces,
 * as Mastra does, so that either side's vectors mean the same. Empty for
 * messages with no text (tool calls only).
 */
export function storedMessageText(message: MastraDBMessage): string {
  if (typeof message.content.content === "string" && message.content.content.trim() !== "") {
    return message.content.content;
  }
  return (message.content.parts ?? [])
    .flatMap((part) => (part.type === "text" ? [part.text] : []))
    .join(" ")
    .trim();
}

const maxChunkLength = 4000;

/** Splits long text at whitespace into pieces an embedder handles well. */
export function chunkText(text: string): string[] {
  if (text.length <= maxChunkLength) return [text];
  const chunks: string[] = [];
  let current = "";
  for (const word of text.split(/\s+/)) {
    if (current.length + word.length + 1 > maxChunkLength && current) {
      chunks.push(current);
      current = "";
    }
    current = current ? `${current} ${word}` : word.slice(0, maxChunkLength);
  }
  if (current) chunks.push(current);
  return chunks;
}
