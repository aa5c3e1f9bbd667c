import type { TraceStore, TurnTrace } from "@session-bridge/core";
import { asc, eq, sql } from "drizzle-orm";
import { reviveTrace } from "../trace-json.ts";
import type { Database } from "./client.ts";
import { turnTraces } from "./schema.ts";

/** Saves a turn's trace, replacing one saved before (the statement, for `save` and for a turn's end). */
export function upsertTrace(db: Database, row: { id: string; sessionId: string; startedAt: Date; trace: TurnTrace }) {
  return db
    .insert(turnTraces)
    .values(row)
    .onConflictDoUpdate({
      target: turnTraces.id,
      set: { trace: sql`excluded.${sql.identifier(turnTraces.trace.name)}` },
    });
}

export function createTraceStore(db: Database): TraceStore {
  return {
    async save(sessionId, trace) {
      await upsertTrace(db, { id: trace.id, sessionId, startedAt: trace.startedAt, trace });
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
