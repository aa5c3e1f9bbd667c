import type { UIMessage } from "ai";

/** The metadata the server puts on assistant messages (see docs/chat.md). */
export interface MessageMetadata {
  sessionId?: string;
  model?: string;
  status?: "complete" | "stopped" | "interrupted" | "failed";
  usage?: { inputTokens?: number; outputTokens?: number; totalTokens?: number };
}

/** What memory brought into a turn: recalled messages of this user's sessions and saved memories. */
export interface RecallData {
  recalled: { messageId: string; sessionId: string; excerpt: string; score: number }[];
  memories: { id: string; scope: string; text: string }[];
}

export type PlaygroundMessage = UIMessage<
  MessageMetadata,
  { session: { sessionId: string; resourceId: string }; recall: RecallData }
>;
