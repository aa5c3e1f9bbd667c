import type { UIMessageChunk } from "ai";
import type { TurnStatus, TurnTrace } from "../turn/turn-types.ts";
import type { UsageRecord } from "./usage-store.ts";

/** A turn as the log keeps it, from the moment it starts. */
export interface TurnRecord {
  id: string;
  sessionId: string;
  resourceId: string;
  /** The chat id the client sent, so a resume finds the turn by it. */
  chatId: string | null;
  userMessageId: string;
  assistantMessageId: string;
  model: string;
  /** The session lease the turn holds, and the process holding it (`host:pid:instance`). */
  leaseId: string;
  owner: string;
  status: "running" | TurnStatus;
  stopRequested: boolean;
  startedAt: Date;
  endedAt: Date | null;
}

export type NewTurn = Omit<TurnRecord, "status" | "stopRequested" | "startedAt" | "endedAt">;

/**
 * How a turn ends: its status, and what is written with it: the chunk log's
 * last batch, the turn's trace, its usage, the release of its session's lease.
 */
export interface TurnEnding {
  turnId: string;
  status: Exclude<TurnStatus, "interrupted">;
  /** The chunk log's last batch, not written yet. */
  lastBatch?: { seq: number; chunks: UIMessageChunk[] };
  /** Saved as the trace store's `save` would (replacing one saved before). */
  trace?: { sessionId: string; trace: TurnTrace };
  /** Counted today as the usage store's `record` would. */
  usage?: UsageRecord;
  /** Released as the session store's `releaseTurnLease` would. */
  lease?: { sessionId: string; leaseId: string };
}

/**
 * The turn log and each running turn's chunk log: what lets a turn be resumed
 * from another connection, stopped from another process and recovered after
 * its process died. Every turn and chunk goes with its session.
 */
export interface TurnLog {
  /** Records a turn as running, started now. */
  begin(turn: NewTurn): Promise<void>;
  /** Appends one batch of the turn's stream chunks under `seq` (a batch written twice is kept once). */
  append(turnId: string, seq: number, chunks: UIMessageChunk[]): Promise<void>;
  /** Batches after `afterSeq`, in `seq` order. */
  read(turnId: string, afterSeq: number): Promise<{ seq: number; chunks: UIMessageChunk[] }[]>;
  /**
   * Ends a running turn now, writing everything of its {@link TurnEnding} in
   * one atomic write (one statement where the database allows: a turn's end
   * costs one round trip). False when the turn was not running any more
   * (recovered meanwhile): its status stays, the rest is written all the same.
   */
  end(ending: TurnEnding): Promise<boolean>;
  /** Marks an abandoned turn interrupted now; false when something else ended it first. */
  markInterrupted(turnId: string): Promise<boolean>;
  /**
   * Records a turn that ended `complete` or `stopped` as `failed` after all
   * (its answer could not be saved), replacing its trace; false, and nothing
   * written, when it had not ended so. Its usage stays counted.
   */
  markFailed(turnId: string, trace: { sessionId: string; trace: TurnTrace }): Promise<boolean>;
  /**
   * Turns that ended `complete` or `stopped`, are their session's newest turn
   * and whose chunk log is still kept: their answer is saved alongside their
   * end, so it may be missing from memory (their process died in between).
   * Of one session when given.
   */
  findEndedWithLog(filter?: { sessionId?: string }): Promise<TurnRecord[]>;
  get(turnId: string): Promise<TurnRecord | undefined>;
  /** The resource's running turn for a session id or a chat id, newest first. */
  findRunning(resourceId: string, sessionOrChatId: string): Promise<TurnRecord | undefined>;
  /** Asks the process running the session's turn to stop it; false when none runs. */
  requestStop(resourceId: string, sessionId: string): Promise<boolean>;
  /** Of these turns, the ones asked to stop. */
  stopRequested(turnIds: string[]): Promise<string[]>;
  /**
   * Running turns whose process can no longer be running them: their
   * session's lease is gone, taken by another turn, or expired.
   */
  findAbandoned(options?: { sessionId?: string }): Promise<TurnRecord[]>;
  /** Running turns held by processes named `owner…` (a prefix: `host:`), for the caller to check. */
  findRunningOwnedBy(ownerPrefix: string): Promise<TurnRecord[]>;
  /** Deletes one turn's chunk log. */
  deleteChunks(turnId: string): Promise<void>;
  /** Deletes the chunk logs of turns that ended before `before`, but for `except`; returns how many batches. */
  pruneChunks(before: Date, except?: string[]): Promise<number>;
}
