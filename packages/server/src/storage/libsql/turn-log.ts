import type { Clock, TurnLog, TurnRecord, TurnStatus } from "@session-bridge/core";
import type { UIMessageChunk } from "ai";
import { and, asc, desc, eq, exists, gt, inArray, lt, ne, notExists, notInArray, or, sql } from "drizzle-orm";
import type { BatchItem } from "drizzle-orm/batch";
import { alias } from "drizzle-orm/sqlite-core";
import type { Database } from "./client.ts";
import { sessions, turnChunks, turns, turnTraces } from "./schema.ts";
import { releaseLease } from "./session-store.ts";
import { upsertTrace } from "./trace-store.ts";
import { countUsage } from "./usage-store.ts";

/** The statuses of a turn whose answer is saved alongside its end. */
const endedWithAnswer: TurnStatus[] = ["complete", "stopped"];

/**
 * The {@link TurnLog} on libSQL: the `turns` table and each running turn's
 * chunk log (`turn_chunks`), both deleted with their session by cascade.
 */
export function createTurnLog({ db, clock }: { db: Database; clock: Clock }): TurnLog {
  const end = (turnId: string, status: TurnStatus) =>
    db
      .update(turns)
      .set({ status, endedAt: clock.now() })
      .where(and(eq(turns.id, turnId), eq(turns.status, "running")));
  const appendChunks = (turnId: string, seq: number, chunks: UIMessageChunk[]) =>
    db.insert(turnChunks).values({ turnId, seq, chunks }).onConflictDoNothing();

  return {
    async begin(turn) {
      await db.insert(turns).values({ ...turn, status: "running", startedAt: clock.now() });
    },

    async append(turnId, seq, chunks) {
      await appendChunks(turnId, seq, chunks);
    },

    async read(turnId, afterSeq) {
      const rows = await db
        .select({ seq: turnChunks.seq, chunks: turnChunks.chunks })
        .from(turnChunks)
        .where(and(eq(turnChunks.turnId, turnId), gt(turnChunks.seq, afterSeq)))
        .orderBy(asc(turnChunks.seq));
      return rows.map((row) => ({ seq: row.seq, chunks: row.chunks as UIMessageChunk[] }));
    },

    async end({ turnId, status, lastBatch, trace, usage, lease }) {
      // One batch: one transaction on the file, one request to a libSQL server.
      const rest: BatchItem<"sqlite">[] = [];
      if (lastBatch) rest.push(appendChunks(turnId, lastBatch.seq, lastBatch.chunks));
      if (trace) rest.push(upsertTrace(db, trace.sessionId, trace.trace));
      if (usage) rest.push(countUsage(db, usage, clock.now()));
      if (lease) rest.push(releaseLease(db, lease.sessionId, lease.leaseId));
      const [ended] = await db.batch([end(turnId, status), ...rest]);
      return ended.rowsAffected > 0;
    },

    async get(turnId) {
      const [row] = await db.select().from(turns).where(eq(turns.id, turnId));
      return row;
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
      const result = await db
        .update(turns)
        .set({ stopRequested: true })
        .where(and(eq(turns.sessionId, sessionId), eq(turns.resourceId, resourceId), eq(turns.status, "running")));
      return result.rowsAffected > 0;
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
        .where(
          and(eq(turns.status, "running"), sql`substr(${turns.owner}, 1, ${ownerPrefix.length}) = ${ownerPrefix}`),
        );
    },

    async markInterrupted(turnId) {
      return (await end(turnId, "interrupted")).rowsAffected > 0;
    },

    async markFailed(turnId, { sessionId, trace }) {
      const [, failed] = await db.batch([
        // The trace first, while the status still tells whether this call fails the turn.
        db
          .update(turnTraces)
          .set({ trace })
          .where(
            and(
              eq(turnTraces.id, trace.id),
              eq(turnTraces.sessionId, sessionId),
              exists(
                db
                  .select({ one: sql`1` })
                  .from(turns)
                  .where(and(eq(turns.id, turnId), inArray(turns.status, endedWithAnswer))),
              ),
            ),
          ),
        db
          .update(turns)
          .set({ status: "failed" })
          .where(and(eq(turns.id, turnId), inArray(turns.status, endedWithAnswer))),
      ]);
      return failed.rowsAffected > 0;
    },

    async findEndedWithLog(filter = {}) {
      const later = alias(turns, "later");
      const logged = db.selectDistinct({ turnId: turnChunks.turnId }).from(turnChunks).as("logged");
      const rows = await db
        .select({ turn: turns })
        // A cross join: SQLite keeps the chunk logs (few: kept a minute after a turn's end, longer
        // only while an answer is left to save) as the outer loop instead of scanning ended turns.
        .from(logged)
        .crossJoin(turns)
        .where(
          and(
            eq(turns.id, logged.turnId),
            inArray(turns.status, endedWithAnswer),
            filter.sessionId ? eq(turns.sessionId, filter.sessionId) : undefined,
            notExists(
              db
                .select({ one: sql`1` })
                .from(later)
                .where(
                  and(
                    eq(later.sessionId, turns.sessionId),
                    or(
                      gt(later.startedAt, turns.startedAt),
                      and(eq(later.startedAt, turns.startedAt), gt(later.id, turns.id)),
                    ),
                  ),
                ),
            ),
          ),
        );
      return rows.map((row) => row.turn as TurnRecord);
    },

    async deleteChunks(turnId) {
      await db.delete(turnChunks).where(eq(turnChunks.turnId, turnId));
    },

    async pruneChunks(before, except = []) {
      const result = await db.delete(turnChunks).where(
        inArray(
          turnChunks.turnId,
          db
            .select({ id: turns.id })
            .from(turns)
            .where(
              and(
                ne(turns.status, "running"),
                lt(turns.endedAt, before),
                except.length > 0 ? notInArray(turns.id, except) : undefined,
              ),
            ),
        ),
      );
      return result.rowsAffected;
    },
  };
}
