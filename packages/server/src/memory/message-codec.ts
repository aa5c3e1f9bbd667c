import { type MastraDBMessage, MessageList } from "@mastra/core/agent/message-list";
import type { UIMessage } from "ai";

/**
 * Internal status of an answer saved step by step while its turn runs: hidden
 * from every read but the turn's own (retry, recovery) until the turn ends.
 */
export const streamingStatus = "streaming";

/**
 * Marks stored content whose `parts` are the AI SDK UI parts exactly as
 * accepted or streamed. Mastra's own conversion (its `MessageList`) drops
 * data-part ids, source titles, dynamic tools and part states, and its
 * `Memory.saveMessages` trims text; rows written before this marker existed
 * went through it and are read back through it.
 */
const exactParts = "ai-sdk-ui";

/** Stored content: Mastra's format-2 shape, so Mastra's own readers still find text and metadata. */
interface StoredContent {
  format: 2;
  parts: unknown[];
  metadata?: unknown;
  partsFormat?: typeof exactParts;
}

/**
 * The JSON a message is stored as. `JSON.stringify` escapes NUL and lone
 * surrogates, so every string the client sent comes back byte for byte.
 */
export function encodeContent(message: UIMessage): string {
  const content: StoredContent = { format: 2, parts: message.parts, partsFormat: exactParts };
  if (message.metadata !== undefined) content.metadata = message.metadata;
  return JSON.stringify(content);
}

/** A stored row back as the UI message its client saw, under the client's id. */
export function decodeMessage(row: { id: string; role: string; content: string }): UIMessage {
  const content = JSON.parse(row.content) as StoredContent;
  if (content.partsFormat === exactParts) {
    const message = { id: row.id, role: row.role, parts: content.parts } as UIMessage;
    return content.metadata === undefined ? message : { ...message, metadata: content.metadata };
  }
  return legacyToUiMessage(row.id, row.role, content);
}

/** Rows saved through Mastra's conversion, converted back the same way (one message at a time, so equal ids never merge). */
function legacyToUiMessage(id: string, role: string, content: StoredContent): UIMessage {
  const list = new MessageList();
  list.add([{ id, role, content, createdAt: new Date(0) } as MastraDBMessage], "memory");
  const [message] = list.get.all.aiV7.ui();
  if (!message) return { id, role: role as UIMessage["role"], parts: [] };
  const metadata = { ...(message.metadata as Record<string, unknown> | undefined) };
  for (const key of ["createdAt", "threadId", "resourceId"]) delete metadata[key];
  // Mastra's conversion leaves `key: undefined` behind; a client never sees those over JSON.
  const parts = message.parts.map((part) =>
    Object.fromEntries(Object.entries(part).filter(([, value]) => value !== undefined)),
  );
  const { metadata: _dropped, ...rest } = message;
  return (Object.keys(metadata).length > 0 ? { ...rest, parts, metadata } : { ...rest, parts }) as UIMessage;
}

/** True for the answer of a turn still running (see {@link streamingStatus}). */
export function isRunningAnswer(message: UIMessage): boolean {
  return (message.metadata as { status?: unknown } | undefined)?.status === streamingStatus;
}
