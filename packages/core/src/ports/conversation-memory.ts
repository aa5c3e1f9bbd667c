import type { ChatMessage, RecallChannel } from "@session-bridge/shared";
import type { Memory } from "./memory-store.ts";
import type { Session } from "./session-store.ts";

/** Whose messages semantic recall searches: all of the user's sessions, or this one. */
export type RecallScope = "user" | "session";

export interface RecallRequest {
  sessionId: string;
  resourceId: string;
  /** The new user message's text; semantic recall searches for it. */
  query: string;
  /** Default `"user"`. */
  scope?: RecallScope;
  /** Messages already part of the turn (e.g. the saved user message) to leave out. */
  excludeMessageIds?: string[];
}

/** A message semantic recall brought back from earlier, and why. */
export interface RecalledMessage {
  message: ChatMessage;
  /** The session it came from (this one or another of the user's). */
  sessionId: string;
  /** Cosine similarity of the hit that brought it in; neighbours share their hit's score. */
  score: number;
  /** The channels that found it, for a hit; empty for a neighbour included around one. */
  foundBy: RecallChannel[];
}

export interface RecallResult {
  /** The session's last messages, oldest first. */
  recent: ChatMessage[];
  /** Earlier context found by meaning: time order, none repeated from `recent`. */
  recalled: RecalledMessage[];
  /** The user's memories and this session's, oldest first. */
  memories: Memory[];
}

export interface SaveMessagesRequest {
  sessionId: string;
  resourceId: string;
  messages: ChatMessage[];
  /**
   * `"now"` embeds and writes vectors before returning; `"later"` only records
   * the messages as pending, for {@link ConversationMemory.indexPending} after
   * the answer has reached the client. Pending work survives a crash.
   */
  index?: "now" | "later";
  /** The answer of a turn still running, saved step by step: hidden until it is saved again without this. */
  running?: boolean;
}

export interface IndexPendingOptions {
  resourceId?: string;
  onProgress?: (progress: { done: number; total: number }) => void;
}

/** The memory a turn uses: messages, semantic recall and standing instructions. */
export interface ConversationMemory {
  createThread(session: Session): Promise<void>;
  recall(request: RecallRequest): Promise<RecallResult>;
  /** Saving a message id again replaces it; nothing is ever stored twice. */
  save(request: SaveMessagesRequest): Promise<void>;
  /**
   * Embeds messages saved with `index: "later"` (of one resource, when given),
   * reporting progress; returns how many.
   */
  indexPending(options?: IndexPendingOptions): Promise<number>;
  /** A session's messages, oldest first; answers of running turns only when asked for. */
  listMessages(sessionId: string, resourceId: string, options?: { includeRunning?: boolean }): Promise<ChatMessage[]>;
  /** Deletes the session's thread, its messages and their vectors. */
  deleteThread(session: Session): Promise<void>;
}
