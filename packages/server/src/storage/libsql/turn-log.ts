import { type Clock, type TurnLog, type TurnRecord, type TurnStatus, usageDayOf } from "@session-bridge/core";
import type { UIMessageChunk } from "ai";
import { and, asc, desc, eq, exists, gt, inArray, lt, ne, notExists, notInArray, or, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import type { Database } from "./client.ts";
import { sessions, turnChunks, turns, turnTraces } from "./schema.ts";
import { releaseLease } from "./session-store.ts";
import { type SqlThread, writeStatement } from "./sql-thread.ts";
import { upsertTrace } from "./trace-store.ts";
import { countUsage } from "./usage-store.ts";

/** The statuses of a turn whose answer is saved alongside its end. */
const endedWithAnswer: TurnStatus[] = ["complete", "stopped"];

/** A placeholder where Drizzle's types want the value itself (it binds it through the column's encoder). */
const bound = <T>(name: string) => sql.placeholder(name) as unknown as T;

/**
 * The {@link TurnLog} on libSQL: the `turns` table and each running turn's
 * chunk log (`turn_chunks`), both deleted with their session by cascade. A
 * turn's end (or interruption) is written on `writer` (on an embedded file, a
 * connection in a worker thread: its commit does not hold up the serving
 * thread, and runs while the answer's save runs on the memory file's), its
 * statements built once.
 */
export function createTurnLog({ db, clock, writer }: { db: Database; clock: Clock; writer: SqlThread }): TurnLog {
  const endTurn = writeStatement(
    db
      .update(turns)
      .set({ status: bound<TurnStatus>("status"), endedAt: bound<Date>("endedAt") })
      .where(and(eq(turns.id, bound<string>("turnId")), eq(turns.status, "running"))),
  );
  const appendChunks = writeStatement(
    db
      .insert(turnChunks)
      .values({ turnId: bound("turnId"), seq: bound("seq"), chunks: bound("chunks") })
      .onConflictDoNothing(),
  );
  const saveTrace = writeStatement(
    upsertTrace(db, {
      id: bound("id"),
      sessionId: bound("sessionId"),
      startedAt: bound("startedAt"),
      trace: bound("trace"),
    }),
  );
  const addUsage = writeStatement(
    countUsage(db, {
      resourceId: bound("resourceId"),
      day: bound("day"),
      model: bound("model"),
      inputTokens: bound("inputTokens"),
      outputTokens: bound("outputTokens"),
    }),
  );
  const freeLease = writeStatement(releaseLease(db, bound("sessionId"), bound("leaseId")));

  return {
    async begin(turn) {
      await db.insert(turns).values({ ...turn, status: "running", startedAt: clock.now() });
    },

    async append(turnId, seq, chunks) {
      // On the serving thread's connection: a streaming turn appends every 50 ms, and a thread
      // committing that often would hold the file's write lock against the serving thread's writes.
      await db.$client.execute(appendChunks({ turnId, seq, chunks }));
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
      // One transaction: on the file, in the writer's thread; on a libSQL server, one request.
      const now = clock.now();
      const statements = [endTurn({ turnId, status, endedAt: now })];
      if (lastBatch) statements.push(appendChunks({ turnId, ...lastBatch }));
      if (trace) {
        const { id, startedAt } = trace.trace;
        statements.push(saveTrace({ id, sessionId: trace.sessionId, startedAt, trace: trace.trace }));
      }
      if (usage) statements.push(addUsage({ ...usage, day: usageDayOf(now) }));
      if (lease) statements.push(freeLease(lease));
      const [ended = 0] = await writer.write(statements);
      return ended > 0;
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
      const [ended = 0] = await writer.write([endTurn({ turnId, status: "interrupted", endedAt: clock.now() })]);
      return ended > 0;
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
