import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { Clock, Session, SessionStore } from "@session-bridge/core";
import type { ServerRepoCache } from "./repo-cache.ts";

export interface CleanupOptions {
  /** Sessions with their memory threads (deleting one deletes all of it). */
  sessions: SessionStore;
  repos: ServerRepoCache;
  clock: Clock;
  sessionTtlMs: number;
  repoTtlMs: number;
  maxSessionsPerUser: number;
  /** Count what would go, change nothing. */
  dryRun?: boolean;
  /** Called after each item removed (or counted, in a dry run). */
  onProgress?: (progress: CleanupProgress) => void;
}

export interface CleanupProgress {
  phase: "expired-sessions" | "excess-sessions" | "idle-repos";
  done: number;
}

export interface CleanupReport {
  dryRun: boolean;
  /** Sessions idle past the session TTL. */
  expiredSessions: number;
  /** Sessions beyond the per-user limit, least recently used first. */
  excessSessions: number;
  /** Cached repositories idle past the repository TTL. */
  idleRepos: number;
}

const batchSize = 200;

/**
 * Removes sessions idle past their TTL or beyond the per-user limit (with their
 * tool sessions and whatever the deletion hooks remove) and repositories idle
 * past theirs (with their folders).
 *
 * @example
 * const report = await runCleanup({ sessions, repos, clock, sessionTtlMs, repoTtlMs, maxSessionsPerUser: 1000 });
 */
export async function runCleanup(options: CleanupOptions): Promise<CleanupReport> {
  const { sessions, repos, clock, dryRun = false, onProgress } = options;
  const now = clock.now().getTime();
  const sessionCutoff = new Date(now - options.sessionTtlMs);

  const expiredSessions = await removeSessions("expired-sessions", (limit) => sessions.findIdle(sessionCutoff, limit));
  const excessSessions = await removeSessions("excess-sessions", async (limit) => {
    const excess = await sessions.findBeyondLimit(options.maxSessionsPerUser, limit);
    // In a dry run the expired sessions are still there; they rank last, so
    // leaving them out counts exactly what a real run would remove here.
    return dryRun ? excess.filter((session) => session.lastAccessed >= sessionCutoff) : excess;
  });

  const idle = await repos.findIdle(new Date(now - options.repoTtlMs));
  let idleRepos = 0;
  for (const repo of idle) {
    if (!dryRun) await repos.remove(repo.resourceKey);
    idleRepos += 1;
    onProgress?.({ phase: "idle-repos", done: idleRepos });
  }
  return { dryRun, expiredSessions, excessSessions, idleRepos };

  async function removeSessions(
    phase: CleanupProgress["phase"],
    find: (limit: number) => Promise<Session[]>,
  ): Promise<number> {
    let done = 0;
    for (;;) {
      const batch = await find(dryRun ? Number.MAX_SAFE_INTEGER : batchSize);
      for (const session of batch) {
        if (!dryRun) await sessions.delete(session.resourceId, session.id);
        done += 1;
        onProgress?.({ phase, done });
      }
      // Local libSQL calls do not yield; let the server breathe between batches.
      await yieldToEventLoop();
      if (dryRun || batch.length < batchSize) return done;
    }
  }
}
