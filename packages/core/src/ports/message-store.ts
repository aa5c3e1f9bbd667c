import type { ChatMessage } from "@session-bridge/shared";

/** A conversation message as stored: the UI message exactly as accepted or streamed, in its session. */
export interface StoredMessage {
  /** The store's own key, unique across sessions (the client's id is `message.id`). */
  key: string;
  sessionId: string;
  resourceId: string;
  /** Orders a session's messages; saving a message again keeps its first time. */
  createdAt: Date;
  message: ChatMessage;
  /**
   * The answer of a turn still running, saved step by step: hidden from every
   * read but the turn's own (retry, recovery) until the turn saves it again.
   */
  running?: boolean;
}

/** A message saved but not yet embedded: the work `indexPending` finishes, also after a crash. */
export interface PendingMessage {
  key: string;
  /** Renewed by every save of the message, so an embedder that read an older text leaves it pending. */
  savedAt: number;
}

export interface ListMessagesOptions {
  /** At most this many, from the newest (still returned oldest first). */
  last?: number;
  /** Include answers of running turns (hidden everywhere else). Default false. */
  includeRunning?: boolean;
}

export interface RecallWindowRequest {
  sessionId: string;
  resourceId: string;
  /** How many of the session's newest visible messages to read. */
  last: number;
  /** Keys never returned, in either part (the turn's own new messages). */
  exclude: string[];
  /**
   * Keys of vector hits: messages of the resource, of any session. A promise
   * lets the caller ask while it is still searching: the newest messages are
   * read at once, the neighbourhoods once the hits are known (its rejection
   * is the window's).
   */
  hits: string[] | PromiseLike<string[]>;
  /** How many messages before and after each hit, in the hit's own session. */
  range: number;
}

export interface RecallWindow {
  /** The session's newest `last` visible messages outside `exclude`, oldest first. */
  last: StoredMessage[];
  /**
   * Each hit of the resource that is in neither `last` nor `exclude`, with up to
   * `range` messages before and after it in its own session (counted in the
   * whole session), each once, oldest first; running answers and messages of
   * `last` or `exclude` left out.
   */
  around: StoredMessage[];
}

/**
 * What recall leaves out of its hits: the turn's own new messages (`exclude`,
 * keys) and the asking session's newest `last` visible messages outside them,
 * which the turn shows anyway, so they would take a hit's place for nothing.
 */
export interface RecallExclusions {
  exclude: string[];
  newestOf?: { sessionId: string; last: number };
}

export interface KeywordSearchRequest extends RecallExclusions {
  resourceId: string;
  /**
   * Keyword terms (see `keywordTerms`): a message matches when its text holds
   * any of them, a term of several tokens (`ERR_CONN_RESET`) as a phrase.
   */
  terms: string[];
  topK: number;
  /** Only this session's messages, when given. */
  sessionId?: string;
}

export interface KeywordHit {
  key: string;
  sessionId: string;
}

/**
 * Conversation messages of sessions, stored byte for byte. Every read names the
 * resource: another resource's messages are never returned.
 */
export interface MessageStore {
  /** Registers a new session for its messages (idempotent). */
  createThread(session: { id: string; resourceId: string; title: string; createdAt: Date }): Promise<void>;
  /**
   * Saves messages of one session in one transaction: a message already stored
   * (same session and client id) is replaced but keeps its `createdAt`.
   * `pending`: also records them as not yet embedded, in the same transaction.
   */
  save(messages: StoredMessage[], options: { pending: boolean; now: Date }): Promise<void>;
  /** The session's messages, oldest first. */
  list(sessionId: string, resourceId: string, options?: ListMessagesOptions): Promise<StoredMessage[]>;
  /** The message with this client id and the one right after it (answers of running turns included). */
  findWithNext(
    sessionId: string,
    resourceId: string,
    messageId: string,
  ): Promise<{ message: StoredMessage; next: StoredMessage | undefined } | undefined>;
  /**
   * One read for a turn that starts: `findWithNext` of the message, and the
   * session's newest visible message (running answers left out).
   */
  findWithNextAndLast(
    sessionId: string,
    resourceId: string,
    messageId: string,
  ): Promise<{
    found: { message: StoredMessage; next: StoredMessage | undefined } | undefined;
    last: StoredMessage | undefined;
  }>;
  /** Messages by key (any session), in no particular order; unknown keys are left out. */
  getByKeys(keys: string[]): Promise<StoredMessage[]>;
  /**
   * What recall reads: the session's newest messages and the neighbourhood of
   * the vector hits (one round trip once the hits are known, the newest read
   * before them where the backend allows).
   */
  recallWindow(request: RecallWindowRequest): Promise<RecallWindow>;
  /** Every message of every session after `after`, in (createdAt, key) order: for re-embedding them all. */
  scan(options: { after: { createdAt: Date; key: string } | null; limit: number }): Promise<StoredMessage[]>;
  /** How many messages are stored in all, or up to and including `upTo` in (createdAt, key) order. */
  countAll(upTo?: { createdAt: Date; key: string }): Promise<number>;
  /** How many visible messages each session holds (sessions with none are left out). */
  count(sessionIds: string[]): Promise<Map<string, number>>;
  /**
   * The resource's visible messages whose text holds the terms, most relevant
   * first (full-text search over the text the message store indexes with every
   * save: SQLite FTS5 on libSQL, `tsvector` on PostgreSQL).
   */
  searchText(request: KeywordSearchRequest): Promise<KeywordHit[]>;
  /** Deletes messages of a session by client id, with their pending rows. */
  delete(sessionId: string, messageIds: string[]): Promise<void>;
  /** Deletes every message of a session, with their pending rows. */
  deleteSession(sessionId: string): Promise<void>;
  /** Pending messages after `after` in (savedAt, key) order, of one resource when given. */
  listPending(options: { after: PendingMessage | null; limit: number; resourceId?: string }): Promise<PendingMessage[]>;
  countPending(resourceId?: string): Promise<number>;
  /** Clears pending rows that were not renewed since they were read. */
  clearPending(rows: PendingMessage[]): Promise<void>;
}
