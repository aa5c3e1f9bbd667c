import type { TurnTrace } from "../turn/turn-types.ts";

/** Turn traces, one per turn, deleted with their session. */
export interface TraceStore {
  /** Saving a turn's trace again replaces it. */
  save(sessionId: string, trace: TurnTrace): Promise<void>;
  /** Oldest first, with times as `Date`s. */
  listForSession(sessionId: string): Promise<TurnTrace[]>;
}
