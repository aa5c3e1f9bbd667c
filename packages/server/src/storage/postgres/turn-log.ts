import type { Clock, TurnLog, TurnRecord, TurnStatus } from "@session-bridge/core";
import type { UIMessageChunk } from "ai";
import {
  and,
  asc,
  desc,
  eq,
  exists,
  gt,
  inArray,
  lt,
  ne,
  notExists,
  notInArray,
  or,
  type SQLWrapper,
  sql,
} from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import type { PgDatabase } from "./client.ts";
import { sessions, turnChunks, turns, turnTraces } from "./schema.ts";
import { releaseLease } from "./session-store.ts";
import { upsertTrace } from "./trace-store.ts";
import { countUsage } from "./usage-store.ts";

/** The statuses of a turn whose answer is saved alongside its end. */
const endedWithAnswer: TurnStatus[] = ["complete", "stopped"];

/**
 * The {@link TurnLog} on PostgreSQL: the `turns` table and each running turn's
 * chunk log (`turn_chunks`), both deleted with their session by cascade.
 */
export function createPostgresTurnLog({ db, clock }: { db: PgDatabase; clock: Clock }): TurnLog {
  const end = (turnId: string, status: TurnStatus) =>
    db
      .update(turns)
      .set({ status, endedAt: clock.now() })
      .where(and(eq(turns.id, turnId), eq(turns.status, "running")))
      .returning({ id: turns.id });
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
      // One statement, one round trip: every write is a data-modifying CTE of
      // it, all or nothing, seeing one snapshot (they touch different rows).
      const writes: SQLWrapper[] = [];
      if (lastBatch) writes.push(appendChunks(turnId, lastBatch.seq, lastBatch.chunks));
      if (trace) writes.push(upsertTrace(db, trace.sessionId, trace.trace));
      if (usage) writes.push(countUsage(db, usage, clock.now()));
      if (lease) writes.push(releaseLease(db, lease.sessionId, lease.leaseId));
      // Drizzle puts a query embedded in SQL in parentheses, as a CTE's body needs.
      const ctes = writes.map((write, index) => sql`, ${sql.raw(`w${index}`)} AS ${write}`);
      const result = await db.execute<{ ended: number }>(
        sql`WITH ended AS ${end(turnId, status)}${sql.join(ctes)} SELECT count(*)::int AS ended FROM ended`,
      );
      return (result.rows[0]?.ended ?? 0) > 0;
    },

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

    async markInterrupted(turnId) {
      return (await end(turnId, "interrupted")).length > 0;
    },

    async markFailed(turnId, { sessionId, trace }) {
      const failed = db
        .update(turns)
        .set({ status: "failed" })
        .where(and(eq(turns.id, turnId), inArray(turns.status, endedWithAnswer)))
        .returning({ id: turns.id });
      // One statement, as the turn's end; the trace is replaced only when the turn was failed by it.
      const traced = db
        .update(turnTraces)
        .set({ trace })
        .where(
          and(eq(turnTraces.id, trace.id), eq(turnTraces.sessionId, sessionId), sql`EXISTS (SELECT 1 FROM failed)`),
        );
      const result = await db.execute<{ failed: number }>(
        sql`WITH failed AS ${failed}, traced AS ${traced} SELECT count(*)::int AS failed FROM failed`,
      );
      return (result.rows[0]?.failed ?? 0) > 0;
    },

    async findEndedWithLog(filter = {}) {
      const later = alias(turns, "later");
      const newest = notExists(
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
      );
      const ended = inArray(turns.status, endedWithAnswer);
      if (filter.sessionId) {
        // One session: its turns, each looked up in the chunk logs.
        return (await db
          .select()
          .from(turns)
          .where(
            and(
              eq(turns.sessionId, filter.sessionId),
              ended,
              exists(db.select({ one: sql`1` }).from(turnChunks).where(eq(turnChunks.turnId, turns.id))),
              newest,
            ),
          )) as TurnRecord[];
      }
      // Every session: driven by the chunk logs, which are few (kept a minute after a turn's end,
      // longer only while an answer is left to save).
      const logged = db.selectDistinct({ turnId: turnChunks.turnId }).from(turnChunks).as("logged");
      const rows = await db
        .select({ turn: turns })
        .from(logged)
        .innerJoin(turns, eq(turns.id, logged.turnId))
        .where(and(ended, newest));
      return rows.map((row) => row.turn as TurnRecord);
    },

    async deleteChunks(turnId) {
      await db.delete(turnChunks).where(eq(turnChunks.turnId, turnId));
    },

    async pruneChunks(before, except = []) {
      const rows = await db
        .delete(turnChunks)
        .where(
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
        )
        .returning({ seq: turnChunks.seq });
      return rows.length;
    },
  };
}
