/** JSON the tool keeps between calls, turns and restarts. */
export type ToolState = Record<string, unknown>;

/** One tool's state within one session, e.g. `("search_docs", <repository key>)`. */
export interface ToolSession {
  id: string;
  sessionId: string;
  toolName: string;
  /** `null` for tools with one state per session (e.g. `sequentialThinking`). */
  toolKey: string | null;
  state: ToolState;
  /** Increases by one on every state write; used for optimistic concurrency. */
  stateVersion: number;
  createdAt: Date;
  lastAccessed: Date;
}

export interface WriteToolStateOptions {
  /** Fail with `tool_state_conflict` unless the stored version is this one. */
  expectedVersion?: number;
}

/**
 * Tool sessions of a session. Callers have already resolved the session for
 * its owner; these methods take the session id as given. `(sessionId,
 * toolName, toolKey)` is unique, a `null` key included: concurrent
 * `getOrCreate` calls on any number of connections return one tool session.
 */
export interface ToolSessionStore {
  /** Returns the one tool session for the triple, creating it on first use. */
  getOrCreate(sessionId: string, toolName: string, toolKey: string | null): Promise<ToolSession>;
  get(toolSessionId: string): Promise<ToolSession | undefined>;
  writeState(toolSessionId: string, state: ToolState, options?: WriteToolStateOptions): Promise<ToolSession>;
  /** Oldest first. */
  listForSession(sessionId: string): Promise<ToolSession[]>;
  /** Import: writes the tool session as it is unless its id exists; false when it did. */
  restore(toolSession: ToolSession): Promise<boolean>;
  /** Import's ownership check: these ids that exist, with the session each belongs to. */
  sessionsOf(toolSessionIds: string[]): Promise<Map<string, string>>;
}
