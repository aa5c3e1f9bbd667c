import type { Clock, TurnStatus } from "@session-bridge/core";
import type { UIMessageChunk } from "ai";
import { and, asc, desc, eq, gt, inArray, lt, ne, or, sql } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { sessions, turnChunks, turns } from "../db/schema.ts";

export type TurnRow = typeof turns.$inferSelect;
export type NewTurn = Omit<TurnRow, "status" | "stopRequested" | "startedAt" | "endedAt">;

/**
 * The turns table and each running turn's chunk log: what lets a turn be
 * resumed from another connection, stopped from another process and recovered
 * after its process died.
 */
export interface TurnLog {
  /** Records a turn as running. */
  begin(turn: NewTurn): Promise<void>;
  /** Appends one batch of the turn's stream chunks under `seq`. */
  append(turnId: string, seq: number, chunks: UIMessageChunk[]): Promise<void>;
  /** Batches after `afterSeq`, in order. */
  read(turnId: string, afterSeq: number): Promise<{ seq: number; chunks: UIMessageChunk[] }[]>;
  /** Every chunk logged for the turn, in order. */
  readAll(turnId: string): Promise<UIMessageChunk[]>;
  /** Ends a running turn; false when it was not running any more (recovered meanwhile). */
  finish(turnId: string, status: Exclude<TurnStatus, "interrupted">): Promise<boolean>;
  get(turnId: string): Promise<TurnRow | undefined>;
  /** The resource's running turn for a session id or a chat id, newest first. */
  findRunning(resourceId: string, sessionOrChatId: string): Promise<TurnRow | undefined>;
  /** Asks the process running the session's turn to stop it; false when none runs. */
  requestStop(resourceId: string, sessionId: string): Promise<boolean>;
  /** Of these turns, the ones asked to stop. */
  stopRequested(turnIds: string[]): Promise<string[]>;
  /**
   * Running turns whose process can no longer be running them: their session
   * lease is gone, taken by another turn or expired.
   */
  findAbandoned(options?: { sessionId?: string }): Promise<TurnRow[]>;
  /** Running turns held by processes named `owner…` (a prefix: `host:`), for the caller to check. */
  findRunningOwnedBy(ownerPrefix: string): Promise<TurnRow[]>;
  /** Marks an abandoned turn interrupted; false when something else ended it first. */
  markInterrupted(turnId: string): Promise<boolean>;
  /** Deletes one turn's chunk log. */
  deleteChunks(turnId: string): Promise<void>;
  /** Deletes the chunk logs of turns that ended before `before`; returns how many batches. */
  pruneChunks(before: Date): Promise<number>;
}

export function createTurnLog({ db, clock }: { db: Database; clock: Clock }): TurnLog {
  const end = async (turnId: string, status: TurnStatus) => {
    const result = await db
      .update(turns)
      .set({ status, endedAt: clock.now() })
      .where(and(eq(turns.id, turnId), eq(turns.status, "running")));
    return result.rowsAffected > 0;
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

    async readAll(turnId) {
      return (await this.read(turnId, -1)).flatMap((batch) => batch.chunks);
    },

    finish: (turnId, status) => end(turnId, status),

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
      return rows.map((row) => row.turn);
    },

    async findRunningOwnedBy(ownerPrefix) {
      return db
        .select()
        .from(turns)
        .where(
          and(eq(turns.status, "running"), sql`substr(${turns.owner}, 1, ${ownerPrefix.length}) = ${ownerPrefix}`),
        );
    },

    markInterrupted: (turnId) => end(turnId, "interrupted"),

    async deleteChunks(turnId) {
      await db.delete(turnChunks).where(eq(turnChunks.turnId, turnId));
    },

    async pruneChunks(before) {
      const result = await db.delete(turnChunks).where(
        inArray(
          turnChunks.turnId,
          db
            .select({ id: turns.id })
            .from(turns)
            .where(and(ne(turns.status, "running"), lt(turns.endedAt, before))),
        ),
      );
      return result.rowsAffected;
    },
  };
}
