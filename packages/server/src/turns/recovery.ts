import type { Clock, SessionStore, TraceStore, TurnLog, TurnRecord, TurnTrace } from "@session-bridge/core";
import { chatMetadata } from "@session-bridge/shared";
import type { Logger } from "pino";
import type { MemoryBridge } from "../memory/memory-bridge.ts";
import { hostPrefix, isOwnerGone } from "./process-owner.ts";
import { messageOfChunks } from "./replay.ts";

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

  async function recover(turn: TurnRecord): Promise<boolean> {
    if ((await turnLog.get(turn.id))?.status !== "running") return false;
    const logged = await messageOfChunks((await turnLog.read(turn.id, -1)).flatMap((batch) => batch.chunks));
    const saved = await memory.findWithNext(turn.sessionId, turn.resourceId, turn.userMessageId);
    const stored = saved?.next?.id === turn.assistantMessageId ? saved.next : undefined;
    // An answer saved as final (the turn died, or could not write its end, after saving it)
    // is kept as it is: the chunk log's last batch goes with the turn's end, so the log may
    // hold less than the answer. A step saved while the turn ran is labelled `interrupted`:
    // the log, written at least at every step's start, holds at least as much, and maybe more.
    const final = stored !== undefined && stored.metadata?.status !== "interrupted";
    const partial = final ? undefined : (logged?.parts.length ?? 0) >= (stored?.parts.length ?? 0) ? logged : stored;
    if (partial && partial.parts.length > 0) {
      const usage = partial.metadata?.usage ?? stored?.metadata?.usage ?? { inputTokens: 0, outputTokens: 0 };
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
