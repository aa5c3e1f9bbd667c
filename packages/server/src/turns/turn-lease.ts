import type { Session, SessionStore } from "@session-bridge/core";
import type { Logger } from "pino";
import type { TurnRecovery } from "./recovery.ts";

/** A lease left by a process that died frees the session within this long. */
export const turnLeaseMs = 30_000;
const renewEveryMs = 10_000;

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
   * process on this machine). `undefined`: not the resource's session, or
   * another turn runs.
   */
  acquire(resourceId: string, sessionId: string, leaseId: string): Promise<Session | undefined>;
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
      const grant =
        (await sessions.acquireTurnLease(resourceId, sessionId, leaseId, turnLeaseMs)) ??
        // Held by a dead process on this machine: recovered, then free. Only for a session of
        // this user: an unknown or another user's id costs nothing more than its 404.
        ((await sessions.get(resourceId, sessionId)) !== undefined && (await recovery.recoverDeadHolders(sessionId)) > 0
          ? await sessions.acquireTurnLease(resourceId, sessionId, leaseId, turnLeaseMs)
          : undefined);
      if (!grant) return undefined;
      // A lease that was released leaves nothing running; one taken over may have.
      if (grant.tookOver) {
        try {
          await recovery.recoverSession(sessionId);
        } catch (error) {
          await sessions.releaseTurnLease(sessionId, leaseId);
          throw error;
        }
      }
      return grant.session;
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
