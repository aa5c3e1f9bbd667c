import type { UIMessage } from "ai";

/** How an answer ended: `GET /api/sessions/:id` and the stream's metadata say so. */
export type MessageStatus = "complete" | "stopped" | "interrupted" | "failed";

export interface MessageUsage {
  inputTokens: number;
  outputTokens: number;
  totalTokens: number;
}

/** The metadata the server puts on every assistant message (see docs/chat.md). */
export interface ChatMetadata {
  sessionId: string;
  /** `provider:model`, as configured with `MODEL`. */
  model: string;
  status: MessageStatus;
  usage: MessageUsage;
}

/** How recall finds a message: by meaning (its vectors) or by its keywords (full-text search). */
export const recallChannels = ["vector", "keyword"] as const;
export type RecallChannel = (typeof recallChannels)[number];

/** One message semantic recall brought into a turn. */
export interface RecalledItem {
  messageId: string;
  sessionId: string;
  /** The first 200 characters of the message's text. */
  excerpt: string;
  /** Cosine similarity of the hit that brought it in. */
  score: number;
  /**
   * The channels that found it, for a hit; empty for a message included around
   * a hit. Absent in turns recorded before the keyword channel existed.
   */
  foundBy?: RecallChannel[];
}

/** What memory brought into a turn: recalled messages and the user's standing memories. */
export interface RecallData {
  recalled: RecalledItem[];
  memories: { id: string; scope: "user" | "session"; text: string }[];
}

/**
 * The data parts the server streams: `data-session` first, then `data-recall`
 * when memory found anything. (A type, not an interface, so it fits `UIDataTypes`.)
 */
export type ChatDataParts = {
  session: { sessionId: string; resourceId: string };
  recall: RecallData;
};

/**
 * A message of a Session Bridge conversation, as streamed and as stored:
 * `useChat<ChatMessage>()` on the client, the same type on the server.
 *
 * @example
 * const { messages } = useChat<ChatMessage>({ transport });
 */
export type ChatMessage = UIMessage<ChatMetadata, ChatDataParts>;

/** The metadata of an answer: the session, the model, how it ended and what it used. */
export function chatMetadata(
  sessionId: string,
  model: string,
  status: MessageStatus,
  usage: { inputTokens: number; outputTokens: number },
): ChatMetadata {
  return { sessionId, model, status, usage: { ...usage, totalTokens: usage.inputTokens + usage.outputTokens } };
}

/** A message's `metadata.status`, when it has one (user messages have none). */
export function statusOf(message: Pick<UIMessage, "metadata"> | undefined): string | undefined {
  const status = (message?.metadata as { status?: unknown } | undefined)?.status;
  return typeof status === "string" ? status : undefined;
}
