import { randomUUID } from "node:crypto";
import type { Clock, SessionStore, TraceStore, TurnLog, TurnRecord, TurnTrace } from "@session-bridge/core";
import type { ChatMessage } from "@session-bridge/shared";
import { chatMetadata, statusOf } from "@session-bridge/shared";
import type { UIMessageChunk } from "ai";
import type { Logger } from "pino";
import type { MemoryBridge } from "../memory/memory-bridge.ts";
import { hostPrefix, isOwnerGone, processOwner } from "./process-owner.ts";
import { messageOfChunks } from "./replay.ts";
import { turnLeaseMs } from "./turn-lease.ts";

export interface RecoveryOptions {
  turnLog: TurnLog;
  sessions: SessionStore;
  memory: MemoryBridge;
  traces: TraceStore;
  clock: Clock;
  logger: Logger;
}

/**
 * Finds turns whose process died (SIGKILL, power loss) and finishes them as
 * `interrupted`: the partial answer is rebuilt from the chunk log (or the last
 * saved step), kept with status `interrupted`, and the session's lease is
 * freed. Safe with several processes on one database: a turn is only touched
 * when its lease is gone or expired, or its owner on this machine is dead.
 */
export function createTurnRecovery(options: RecoveryOptions) {
  const { turnLog, sessions, memory, traces, clock, logger } = options;

  /**
   * The turn's user message as stored (undefined when it is not), with the
   * message after it, and that message when it is this turn's own answer
   * (final, or a step saved while the turn ran).
   */
  async function storedAnswerOf(turn: TurnRecord) {
    const saved = await memory.findWithNext(turn.sessionId, turn.resourceId, turn.userMessageId);
    return saved && { next: saved.next, answer: saved.next?.id === turn.assistantMessageId ? saved.next : undefined };
  }

  async function recover(turn: TurnRecord): Promise<boolean> {
    if ((await turnLog.get(turn.id))?.status !== "running") return false;
    const logged = await messageOfChunks((await turnLog.read(turn.id, -1)).flatMap((batch) => batch.chunks));
    const stored = (await storedAnswerOf(turn))?.answer;
    // An answer saved as final (the turn died, or could not write its end, after saving it)
    // is kept as it is: the chunk log's last batch goes with the turn's end, so the log may
    // hold less than the answer. A step saved while the turn ran is labelled `interrupted`:
    // the log, written at least at every step's start, holds at least as much, and maybe more.
    const final = stored !== undefined && stored.metadata?.status !== "interrupted";
    const partial = final ? undefined : (logged?.parts.length ?? 0) >= (stored?.parts.length ?? 0) ? logged : stored;
    if (partial && partial.parts.length > 0) {
      const usage = partial.metadata?.usage ?? stored?.metadata?.usage ?? usageOf(undefined);
      await memory.save({
        sessionId: turn.sessionId,
        resourceId: turn.resourceId,
        messages: [
          {
            ...partial,
            id: turn.assistantMessageId,
            role: "assistant",
            metadata: chatMetadata(turn.sessionId, turn.model, "interrupted", usage),
          },
        ],
        index: "later",
      });
    }
    // Marked only after the answer is saved: a crash in between leaves the turn to recover again.
    if (!(await turnLog.markInterrupted(turn.id))) return false;
    await sessions.releaseTurnLease(turn.sessionId, turn.leaseId);
    const trace: TurnTrace = {
      id: turn.id,
      startedAt: turn.startedAt,
      endedAt: clock.now(),
      outcome: "interrupted",
      model: turn.model,
      transitions: [],
      recalled: [],
      toolCalls: [],
      usage: { inputTokens: 0, outputTokens: 0 },
    };
    await traces.save(turn.sessionId, trace);
    logger.warn({ turnId: turn.id, sessionId: turn.sessionId }, "turn interrupted: its process is gone");
    return true;
  }

  /**
   * Whether an ended turn's process is done with it: gone (on this machine),
   * or the turn ended longer ago than a lease lasts. Until then its answer's
   * save may still be under way, and `finish` not sent.
   */
  const settled = (turn: TurnRecord) =>
    // This process: the caller runs no turn of the session here any more, so its save is done.
    turn.owner === processOwner ||
    isOwnerGone(turn.owner) ||
    (turn.endedAt?.getTime() ?? 0) <= clock.now().getTime() - turnLeaseMs;

  /**
   * True when the turn's user message is stored without an answer after it
   * (but for a step the turn saved while it ran: hidden, labelled `interrupted`).
   */
  async function lacksAnswer(turn: TurnRecord): Promise<boolean> {
    const saved = await storedAnswerOf(turn);
    return saved !== undefined && (!saved.next || statusOf(saved.answer) === "interrupted");
  }

  /** The answer to save for the turn, if it lacks one and its chunk log is whole (an ended turn's log is final). */
  async function restorable(turn: TurnRecord): Promise<ChatMessage | undefined> {
    if (!(await lacksAnswer(turn))) return undefined;
    return wholeAnswer(await turnLog.read(turn.id, -1));
  }

  /**
   * Saves the answer of a turn that ended `complete` or `stopped` but whose
   * process died before the answer's save (done alongside the end) was: its
   * chunk log, completed by the end, holds the whole answer. Nothing is saved
   * when its user message is gone or already has an answer, or when the log is
   * not whole (the answer's save never began, or a batch is missing). Call
   * holding the session's lease.
   */
  async function restore(turn: TurnRecord, found?: ChatMessage): Promise<boolean> {
    const logged = found ?? (await restorable(turn));
    if (!logged) return false;
    const status = turn.status === "stopped" ? "stopped" : "complete";
    await memory.save({
      sessionId: turn.sessionId,
      resourceId: turn.resourceId,
      messages: [
        {
          ...logged,
          id: turn.assistantMessageId,
          role: "assistant",
          metadata: chatMetadata(turn.sessionId, turn.model, status, usageOf(logged)),
        },
      ],
      index: "later",
    });
    logger.warn({ turnId: turn.id, sessionId: turn.sessionId }, "answer saved from the chunk log: its process died");
    return true;
  }

  async function recoverAll(candidates: TurnRecord[]): Promise<number> {
    let recovered = 0;
    for (const turn of new Map(candidates.map((candidate) => [candidate.id, candidate])).values()) {
      try {
        if (await recover(turn)) recovered += 1;
      } catch (error) {
        logger.error({ err: error, turnId: turn.id }, "could not recover an interrupted turn");
      }
    }
    return recovered;
  }

  return {
    /**
     * Call holding the session's lease, before its turn looks at history, with
     * the session's last message: when it is a user message whose turn ended
     * without its answer saved, saves it (`restored`), or says the turn's
     * process may still be saving it (`busy`: its client has no `finish` yet).
     */
    async restoreSession(sessionId: string, last: ChatMessage | undefined): Promise<"restored" | "busy" | "none"> {
      if (last?.role !== "user") return "none";
      const [turn] = (await turnLog.findEndedWithLog({ sessionId })).filter((ended) => ended.userMessageId === last.id);
      // Nothing to save (a turn stopped before its answer began, say): the session is free at once.
      const logged = turn && (await restorable(turn));
      if (!turn || !logged) return "none";
      if (!settled(turn)) return "busy";
      // Looked at once: the caller holds the session's lease, so nothing else saves it meanwhile.
      return (await restore(turn, logged)) ? "restored" : "none";
    },

    /**
     * Saves the answers ended turns left unsaved: of turns that ended before
     * `endedBefore` (before their chunk logs are pruned) and of processes on
     * this machine that are gone, each under its session's lease. `kept`:
     * the turns that could not be looked at now (a failure, a busy session),
     * whose logs must stay.
     */
    async restoreEnded(endedBefore: Date): Promise<{ restored: number; kept: string[] }> {
      const candidates = (await turnLog.findEndedWithLog()).filter(
        (turn) => isOwnerGone(turn.owner) || (turn.endedAt?.getTime() ?? 0) < endedBefore.getTime(),
      );
      let restored = 0;
      const kept: string[] = [];
      for (const turn of candidates) {
        try {
          // Most have their answer (their process was only slow to remove the log): a read tells.
          if (!(await lacksAnswer(turn))) continue;
          const leaseId = randomUUID();
          const grant = await sessions.acquireTurnLease(turn.resourceId, turn.sessionId, leaseId, turnLeaseMs);
          // Busy, or a lease taken over (a turn left running, for the session's next turn to recover): later.
          if (!grant || grant.tookOver) {
            if (grant) await sessions.releaseTurnLease(turn.sessionId, leaseId);
            kept.push(turn.id);
            continue;
          }
          try {
            if (await restore(turn)) restored += 1;
          } finally {
            await sessions.releaseTurnLease(turn.sessionId, leaseId);
          }
        } catch (error) {
          kept.push(turn.id);
          logger.error({ err: error, turnId: turn.id }, "could not save an ended turn's answer");
        }
      }
      return { restored, kept };
    },

    /** Recovers the session's turns whose lease is gone or expired (call while holding a new lease). */
    recoverSession: async (sessionId: string) => recoverAll(await turnLog.findAbandoned({ sessionId })),

    /**
     * Recovers turns whose lease is gone or expired, and turns still holding
     * one whose process on this machine is dead; of one session when given.
     */
    async recoverDeadHolders(sessionId?: string): Promise<number> {
      const dead = (await turnLog.findRunningOwnedBy(hostPrefix)).filter(
        (turn) => (!sessionId || turn.sessionId === sessionId) && isOwnerGone(turn.owner),
      );
      return recoverAll([...(await turnLog.findAbandoned(sessionId ? { sessionId } : {})), ...dead]);
    },
  };
}

export type TurnRecovery = ReturnType<typeof createTurnRecovery>;

const usageOf = (message: ChatMessage | undefined) => message?.metadata?.usage ?? { inputTokens: 0, outputTokens: 0 };

/**
 * The answer a chunk log holds when the log is whole: its batches from the
 * first without a gap, and the answer's end among its chunks (`finish`, or a
 * stopped answer's `message-metadata`), which a turn logs before it saves the
 * answer. A turn stopped before its answer began has neither.
 */
async function wholeAnswer(batches: { seq: number; chunks: UIMessageChunk[] }[]): Promise<ChatMessage | undefined> {
  if (batches.some((batch, index) => batch.seq !== index)) return undefined;
  const chunks = batches.flatMap((batch) => batch.chunks);
  const ended = chunks.some(
    (chunk) =>
      chunk.type === "finish" ||
      (chunk.type === "message-metadata" && (chunk.messageMetadata as ChatMessage["metadata"])?.status === "stopped"),
  );
  if (!ended) return undefined;
  const message = await messageOfChunks(chunks);
  return message && message.parts.length > 0 ? message : undefined;
}
