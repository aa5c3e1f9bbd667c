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
 * its owner; these methods take the session id as given.
 */
export interface ToolSessionStore {
  /** Returns the one tool session for the triple, creating it on first use. */
  getOrCreate(sessionId: string, toolName: string, toolKey: string | null): Promise<ToolSession>;
  get(toolSessionId: string): Promise<ToolSession | undefined>;
  writeState(toolSessionId: string, state: ToolState, options?: WriteToolStateOptions): Promise<ToolSession>;
  listForSession(sessionId: string): Promise<ToolSession[]>;
}
