import type { ToolSession, ToolSessionStore } from "@session-bridge/core";
import { ToolStateConflictError } from "../storage/errors.ts";

/**
 * A turn's view of the tool sessions: those loaded when the turn began,
 * kept current by the turn's own writes, so a tool's first call reads no row.
 * A write that finds the state changed elsewhere (`tool_state_conflict`)
 * forgets the copy, and the tool's retry reads the store again.
 */
export function withLoadedToolSessions(store: ToolSessionStore, loaded: ToolSession[]): ToolSessionStore {
  const keyOf = (sessionId: string, toolName: string, toolKey: string | null) =>
    JSON.stringify([sessionId, toolName, toolKey]);
  const known = new Map(
    loaded.map((toolSession) => [keyOf(toolSession.sessionId, toolSession.toolName, toolSession.toolKey), toolSession]),
  );
  const remember = (toolSession: ToolSession) => {
    known.set(keyOf(toolSession.sessionId, toolSession.toolName, toolSession.toolKey), toolSession);
    return toolSession;
  };
  return {
    ...store,

    async getOrCreate(sessionId, toolName, toolKey) {
      return (
        known.get(keyOf(sessionId, toolName, toolKey)) ??
        remember(await store.getOrCreate(sessionId, toolName, toolKey))
      );
    },

    async writeState(toolSessionId, state, options) {
      try {
        return remember(await store.writeState(toolSessionId, state, options));
      } catch (error) {
        if (error instanceof ToolStateConflictError) {
          for (const [key, toolSession] of known) if (toolSession.id === toolSessionId) known.delete(key);
        }
        throw error;
      }
    },
  };
}
