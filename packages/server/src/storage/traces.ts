import type { TurnTrace } from "@session-bridge/core";
import { asc, eq } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { turnTraces } from "../db/schema.ts";

/** Turn traces, one row per turn, deleted with their session. */
export interface TraceStore {
  save(sessionId: string, trace: TurnTrace): Promise<void>;
  /** Oldest first, with times as `Date`s. */
  listForSession(sessionId: string): Promise<TurnTrace[]>;
}

export function createTraceStore(db: Database): TraceStore {
  return {
    async save(sessionId, trace) {
      await db
        .insert(turnTraces)
        .values({ id: trace.id, sessionId, startedAt: trace.startedAt, trace })
        .onConflictDoUpdate({ target: turnTraces.id, set: { trace } });
    },

    async listForSession(sessionId) {
      const rows = await db
        .select({ trace: turnTraces.trace })
        .from(turnTraces)
        .where(eq(turnTraces.sessionId, sessionId))
        .orderBy(asc(turnTraces.startedAt), asc(turnTraces.id));
      return rows.map(({ trace }) => reviveTrace(trace as TurnTrace));
    },
  };
}

/** JSON turned the trace's dates into strings; turn them back. */
function reviveTrace(trace: TurnTrace): TurnTrace {
  return {
    ...trace,
    startedAt: new Date(trace.startedAt),
    endedAt: trace.endedAt ? new Date(trace.endedAt) : null,
    transitions: trace.transitions.map((transition) => ({ ...transition, at: new Date(transition.at) })),
  };
}
