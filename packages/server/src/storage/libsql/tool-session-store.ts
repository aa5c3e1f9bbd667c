import type { Clock, IdGenerator, ToolSession, ToolSessionStore, ToolState } from "@session-bridge/core";
import { InvalidRequestError, SessionNotFoundError } from "@session-bridge/shared";
import { and, asc, eq, inArray, sql } from "drizzle-orm";
import { ToolSessionNotFoundError, ToolStateConflictError } from "../errors.ts";
import type { Database } from "./client.ts";
import { isForeignKeyViolation } from "./errors.ts";
import { toolSessions } from "./schema.ts";

export interface ToolSessionStoreOptions {
  db: Database;
  clock: Clock;
  generateId: IdGenerator;
}

const toolSessionColumns = {
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
 * Tool sessions in the app database: one row per (session, tool, key), the
 * NULL key included, enforced by a unique index (see the schema).
 *
 * @example
 * const thinking = await store.getOrCreate(sessionId, "sequentialThinking", null);
 * await store.writeState(thinking.id, { thoughts }, { expectedVersion: thinking.stateVersion });
 */
export function createToolSessionStore({ db, clock, generateId }: ToolSessionStoreOptions): ToolSessionStore {
  // One statement, so concurrent callers on any number of connections get the
  // same row: the loser of the insert race takes the conflict branch.
  const upsertToolSession = db
    .insert(toolSessions)
    .values({
      toolSessionId: sql.placeholder("id"),
      sessionId: sql.placeholder("sessionId"),
      toolName: sql.placeholder("toolName"),
      toolKey: sql.placeholder("toolKey"),
      createdAt: sql.placeholder("now"),
      lastAccessed: sql.placeholder("now"),
    })
    .onConflictDoUpdate({
      target: [toolSessions.sessionId, toolSessions.toolName, toolSessions.toolKeyNorm],
      set: { lastAccessed: sql`excluded.last_accessed` },
    })
    .returning(toolSessionColumns)
    .prepare();
  const selectToolSession = db
    .select(toolSessionColumns)
    .from(toolSessions)
    .where(eq(toolSessions.toolSessionId, sql.placeholder("id")))
    .prepare();

  return {
    async getOrCreate(sessionId, toolName, toolKey) {
      if (toolName.length === 0) throw new InvalidRequestError("toolName must not be empty", { field: "toolName" });
      try {
        const row = await upsertToolSession.get({ id: generateId(), sessionId, toolName, toolKey, now: clock.now() });
        if (!row) throw new Error("INSERT … RETURNING returned no row");
        return row;
      } catch (error) {
        if (isForeignKeyViolation(error)) throw new SessionNotFoundError(sessionId);
        throw error;
      }
    },

    async get(toolSessionId) {
      return selectToolSession.get({ id: toolSessionId });
    },

    async writeState(toolSessionId, state: ToolState, options) {
      const expectedVersion = options?.expectedVersion;
      const [row] = await db
        .update(toolSessions)
        .set({
          state,
          stateVersion: sql`${toolSessions.stateVersion} + 1`,
          lastAccessed: clock.now(),
        })
        .where(
          and(
            eq(toolSessions.toolSessionId, toolSessionId),
            expectedVersion === undefined ? undefined : eq(toolSessions.stateVersion, expectedVersion),
          ),
        )
        .returning(toolSessionColumns);
      if (row) return row;
      if (expectedVersion !== undefined && (await selectToolSession.get({ id: toolSessionId }))) {
        throw new ToolStateConflictError(toolSessionId, expectedVersion);
      }
      throw new ToolSessionNotFoundError(toolSessionId);
    },

    async listForSession(sessionId): Promise<ToolSession[]> {
      return db
        .select(toolSessionColumns)
        .from(toolSessions)
        .where(eq(toolSessions.sessionId, sessionId))
        .orderBy(asc(toolSessions.createdAt), asc(toolSessions.toolSessionId));
    },

    async restore(toolSession) {
      const { id, ...fields } = toolSession;
      const result = await db
        .insert(toolSessions)
        .values({ ...fields, toolSessionId: id })
        .onConflictDoNothing();
      return result.rowsAffected > 0;
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
