import type { Session, SessionStore } from "@session-bridge/core";
import type { Logger } from "pino";
import type { TurnRecovery } from "./recovery.ts";

/** A lease left by a process that died frees the session within this long. */
export const turnLeaseMs = 30_000;
const renewEveryMs = 10_000;

/** The session with its lease taken for this turn, or the session another turn holds. */
export type LeaseAttempt = { held: Session } | { busy: Session };

/**
 * One turn per session across processes: a lease in the session's row, taken
 * with one conditional write, renewed while the turn runs, released when it
 * ends. A lease whose holder died simply expires.
 */
export interface TurnLease {
  /**
   * Takes the session's lease for a new turn and returns the session (just
   * marked used); turns an older holder left running are recovered (after
   * taking over its expired lease, or to free it when that holder is a dead
   * process on this machine). `busy`: another turn runs; `undefined`: not
   * the resource's session.
   */
  acquire(resourceId: string, sessionId: string, leaseId: string): Promise<LeaseAttempt | undefined>;
  /** A new session of the resource with its lease already taken, in one write. */
  createHeld(resourceId: string, title: string | null, leaseId: string): Promise<Session>;
  /** Renews the lease every few seconds until the returned cleanup runs; `lost()` once another holder took it. */
  keep(sessionId: string, leaseId: string, lost: () => void): () => void;
  release(sessionId: string, leaseId: string): Promise<void>;
}

export function createTurnLease(options: {
  sessions: SessionStore;
  recovery: TurnRecovery;
  logger: Logger;
}): TurnLease {
  const { sessions, recovery, logger } = options;
  return {
    async acquire(resourceId, sessionId, leaseId) {
      let grant = await sessions.acquireTurnLease(resourceId, sessionId, leaseId, turnLeaseMs);
      if (!grant) {
        // Not taken: an unknown or another user's session goes no further (its 404).
        const existing = await sessions.get(resourceId, sessionId);
        if (!existing) return undefined;
        // Held by a dead process on this machine: recovered, then free.
        if ((await recovery.recoverDeadHolders(sessionId)) > 0) {
          grant = await sessions.acquireTurnLease(resourceId, sessionId, leaseId, turnLeaseMs);
        }
        if (!grant) return { busy: existing };
      }
      try {
        // A lease that was released leaves nothing running; one taken over may have.
        if (grant.tookOver) await recovery.recoverSession(sessionId);
      } catch (error) {
        await sessions.releaseTurnLease(sessionId, leaseId);
        throw error;
      }
      return { held: grant.session };
    },

    createHeld: (resourceId, title, leaseId) =>
      sessions.create(resourceId, { title, lease: { leaseId, ttlMs: turnLeaseMs } }),

    keep(sessionId, leaseId, lost) {
      const timer = setInterval(() => {
        sessions.renewTurnLease(sessionId, leaseId, turnLeaseMs).then(
          (held) => {
            if (held) return;
            // Another process took the session (this one stalled past the lease): stop, do not race it.
            logger.error({ sessionId }, "turn lease lost; stopping the turn");
            lost();
          },
          (error) => logger.error({ err: error, sessionId }, "turn lease renewal failed"),
        );
      }, renewEveryMs);
      return () => clearInterval(timer);
    },

    release: (sessionId, leaseId) => sessions.releaseTurnLease(sessionId, leaseId),
  };
}
