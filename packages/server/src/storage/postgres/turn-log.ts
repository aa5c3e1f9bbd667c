import type { Clock, TurnLog, TurnRecord, TurnStatus } from "@session-bridge/core";
import type { UIMessageChunk } from "ai";
import { and, asc, desc, eq, gt, inArray, lt, ne, or, sql } from "drizzle-orm";
import type { PgDatabase } from "./client.ts";
import { sessions, turnChunks, turns } from "./schema.ts";

/**
 * The {@link TurnLog} on PostgreSQL: the `turns` table and each running turn's
 * chunk log (`turn_chunks`), both deleted with their session by cascade.
 */
export function createPostgresTurnLog({ db, clock }: { db: PgDatabase; clock: Clock }): TurnLog {
  const end = async (turnId: string, status: TurnStatus) => {
    const rows = await db
      .update(turns)
      .set({ status, endedAt: clock.now() })
      .where(and(eq(turns.id, turnId), eq(turns.status, "running")))
      .returning({ id: turns.id });
    return rows.length > 0;
  };

  return {
    async begin(turn) {
      await db.insert(turns).values({ ...turn, status: "running", startedAt: clock.now() });
    },

    async append(turnId, seq, chunks) {
      await db.insert(turnChunks).values({ turnId, seq, chunks }).onConflictDoNothing();
    },

    async read(turnId, afterSeq) {
      const rows = await db
        .select({ seq: turnChunks.seq, chunks: turnChunks.chunks })
        .from(turnChunks)
        .where(and(eq(turnChunks.turnId, turnId), gt(turnChunks.seq, afterSeq)))
        .orderBy(asc(turnChunks.seq));
      return rows.map((row) => ({ seq: row.seq, chunks: row.chunks as UIMessageChunk[] }));
    },

    finish: (turnId, status) => end(turnId, status),

    async get(turnId) {
      const [row] = await db.select().from(turns).where(eq(turns.id, turnId));
      return row as TurnRecord | undefined;
    },

    async findRunning(resourceId, sessionOrChatId) {
      const [row] = await db
        .select()
        .from(turns)
        .where(
          and(
            eq(turns.resourceId, resourceId),
            eq(turns.status, "running"),
            or(eq(turns.sessionId, sessionOrChatId.toLowerCase()), eq(turns.chatId, sessionOrChatId)),
          ),
        )
        .orderBy(desc(turns.startedAt))
        .limit(1);
      return row;
    },

    async requestStop(resourceId, sessionId) {
      const rows = await db
        .update(turns)
        .set({ stopRequested: true })
        .where(and(eq(turns.sessionId, sessionId), eq(turns.resourceId, resourceId), eq(turns.status, "running")))
        .returning({ id: turns.id });
      return rows.length > 0;
    },

    async stopRequested(turnIds) {
      if (turnIds.length === 0) return [];
      const rows = await db
        .select({ id: turns.id })
        .from(turns)
        .where(and(inArray(turns.id, turnIds), eq(turns.stopRequested, true)));
      return rows.map((row) => row.id);
    },

    async findAbandoned(options = {}) {
      const now = clock.now().getTime();
      const rows = await db
        .select({ turn: turns })
        .from(turns)
        .innerJoin(sessions, eq(sessions.id, turns.sessionId))
        .where(
          and(
            eq(turns.status, "running"),
            options.sessionId ? eq(turns.sessionId, options.sessionId) : undefined,
            or(
              sql`${sessions.turnLeaseId} IS NULL`,
              ne(sessions.turnLeaseId, turns.leaseId),
              lt(sessions.turnLeaseUntil, now),
            ),
          ),
        );
      return rows.map((row) => row.turn as TurnRecord);
    },

    async findRunningOwnedBy(ownerPrefix) {
      return db
        .select()
        .from(turns)
        .where(and(eq(turns.status, "running"), sql`left(${turns.owner}, ${ownerPrefix.length}) = ${ownerPrefix}`));
    },

    markInterrupted: (turnId) => end(turnId, "interrupted"),

    async deleteChunks(turnId) {
      await db.delete(turnChunks).where(eq(turnChunks.turnId, turnId));
    },

    async pruneChunks(before) {
      const rows = await db
        .delete(turnChunks)
        .where(
          inArray(
            turnChunks.turnId,
            db
              .select({ id: turns.id })
              .from(turns)
              .where(and(ne(turns.status, "running"), lt(turns.endedAt, before))),
          ),
        )
        .returning({ seq: turnChunks.seq });
      return rows.length;
    },
  };
}
