import type { ToolSession, ToolSessionStore, ToolState } from "@session-bridge/core";
import { ToolStateConflictError } from "../storage/errors.ts";

/**
 * Reads a tool session's state, computes the next one and writes it with
 * optimistic concurrency, retrying when a parallel call of the same tool wrote
 * in between. Returns what `update` returned besides the state.
 */
export async function updateToolState<TState extends ToolState, TResult>(
  store: ToolSessionStore,
  key: { sessionId: string; toolName: string; toolKey: string | null },
  update: (
    state: TState,
    toolSession: ToolSession,
  ) => Promise<{ state: TState; result: TResult }> | { state: TState; result: TResult },
  attempts = 5,
): Promise<TResult> {
  for (let attempt = 1; ; attempt++) {
    const toolSession = await store.getOrCreate(key.sessionId, key.toolName, key.toolKey);
    const { state, result } = await update(toolSession.state as TState, toolSession);
    try {
      await store.writeState(toolSession.id, state, { expectedVersion: toolSession.stateVersion });
      return result;
    } catch (error) {
      if (!(error instanceof ToolStateConflictError) || attempt >= attempts) throw error;
    }
  }
}
