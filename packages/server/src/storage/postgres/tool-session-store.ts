import type { Clock, IdGenerator, ToolSession, ToolSessionStore } from "@session-bridge/core";
import { InvalidRequestError, SessionNotFoundError } from "@session-bridge/shared";
import { and, asc, eq, inArray, sql } from "drizzle-orm";
import { ToolSessionNotFoundError, ToolStateConflictError } from "../errors.ts";
import { isForeignKeyViolation, type PgDatabase } from "./client.ts";
import { toolSessions } from "./schema.ts";

const columns = {
  id: toolSessions.toolSessionId,
  sessionId: toolSessions.sessionId,
  toolName: toolSessions.toolName,
  toolKey: toolSessions.toolKey,
  state: toolSessions.state,
  stateVersion: toolSessions.stateVersion,
  createdAt: toolSessions.createdAt,
  lastAccessed: toolSessions.lastAccessed,
};

/**
 * The {@link ToolSessionStore} on PostgreSQL: one row per (session, tool, key),
 * the NULL key included, by a `UNIQUE NULLS NOT DISTINCT` constraint.
 */
export function createPostgresToolSessionStore({
  db,
  clock,
  generateId,
}: {
  db: PgDatabase;
  clock: Clock;
  generateId: IdGenerator;
}): ToolSessionStore {
  const get = async (toolSessionId: string): Promise<ToolSession | undefined> => {
    const [row] = await db.select(columns).from(toolSessions).where(eq(toolSessions.toolSessionId, toolSessionId));
    return row;
  };

  return {
    async getOrCreate(sessionId, toolName, toolKey) {
      if (toolName.length === 0) throw new InvalidRequestError("toolName must not be empty", { field: "toolName" });
      const now = clock.now();
      try {
        // One statement, so concurrent callers on any number of connections get the
        // same row: the loser of the insert race takes the conflict branch.
        const [row] = await db
          .insert(toolSessions)
          .values({ toolSessionId: generateId(), sessionId, toolName, toolKey, createdAt: now, lastAccessed: now })
          .onConflictDoUpdate({
            target: [toolSessions.sessionId, toolSessions.toolName, toolSessions.toolKey],
            set: { lastAccessed: sql`excluded.last_accessed` },
          })
          .returning(columns);
        if (!row) throw new Error("INSERT … RETURNING returned no row");
        return row;
      } catch (error) {
        if (isForeignKeyViolation(error)) throw new SessionNotFoundError(sessionId);
        throw error;
      }
    },

    get,

    async writeState(toolSessionId, state, options) {
      const expectedVersion = options?.expectedVersion;
      const [row] = await db
        .update(toolSessions)
        .set({ state, stateVersion: sql`${toolSessions.stateVersion} + 1`, lastAccessed: clock.now() })
        .where(
          and(
            eq(toolSessions.toolSessionId, toolSessionId),
            expectedVersion === undefined ? undefined : eq(toolSessions.stateVersion, expectedVersion),
          ),
        )
        .returning(columns);
      if (row) return row;
      if (expectedVersion !== undefined && (await get(toolSessionId))) {
        throw new ToolStateConflictError(toolSessionId, expectedVersion);
      }
      throw new ToolSessionNotFoundError(toolSessionId);
    },

    async listForSession(sessionId) {
      return db
        .select(columns)
        .from(toolSessions)
        .where(eq(toolSessions.sessionId, sessionId))
        .orderBy(asc(toolSessions.createdAt), asc(toolSessions.toolSessionId));
    },

    async restore(toolSession) {
      const { id, ...fields } = toolSession;
      const rows = await db
        .insert(toolSessions)
        .values({ ...fields, toolSessionId: id })
        .onConflictDoNothing()
        .returning({ id: toolSessions.toolSessionId });
      return rows.length > 0;
    },

    async sessionsOf(toolSessionIds) {
      if (toolSessionIds.length === 0) return new Map();
      const rows = await db
        .select({ id: toolSessions.toolSessionId, sessionId: toolSessions.sessionId })
        .from(toolSessions)
        .where(inArray(toolSessions.toolSessionId, toolSessionIds));
      return new Map(rows.map((row) => [row.id, row.sessionId]));
    },
  };
}
