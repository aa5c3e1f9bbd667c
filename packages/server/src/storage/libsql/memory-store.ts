import { type Clock, type IdGenerator, type Memory, type MemoryStore, maxMemoryLength } from "@session-bridge/core";
import { InvalidRequestError, SessionNotFoundError } from "@session-bridge/shared";
import { and, asc, eq, inArray, isNull, or } from "drizzle-orm";
import type { Database } from "./client.ts";
import { memories, sessions } from "./schema.ts";

export interface MemoryStoreOptions {
  db: Database;
  clock: Clock;
  generateId: IdGenerator;
}

/**
 * User and session memories in the app database. Session memories are
 * deleted with their session (foreign key cascade).
 *
 * @example
 * await store.add("alice", { scope: "user", text: "Always call me Chris" });
 */
export function createMemoryStore({ db, clock, generateId }: MemoryStoreOptions): MemoryStore {
  return {
    async add(resourceId, memory) {
      const text = memory.text.trim();
      if (text.length === 0) throw new InvalidRequestError("text must not be empty", { field: "text" });
      if (text.length > maxMemoryLength) {
        throw new InvalidRequestError(`text must be at most ${maxMemoryLength} characters`, { field: "text" });
      }
      const sessionId = memory.scope === "session" ? memory.sessionId : null;
      if (memory.scope === "session") {
        if (!sessionId)
          throw new InvalidRequestError("sessionId is required for session memories", { field: "sessionId" });
        const [owned] = await db
          .select({ id: sessions.id })
          .from(sessions)
          .where(and(eq(sessions.id, sessionId), eq(sessions.resourceId, resourceId)));
        if (!owned) throw new SessionNotFoundError(sessionId);
      } else if (memory.sessionId) {
        throw new InvalidRequestError("user memories apply to every session; leave sessionId out", {
          field: "sessionId",
        });
      }
      const row: Memory = {
        id: generateId(),
        resourceId,
        scope: memory.scope,
        sessionId: sessionId ?? null,
        text,
        createdAt: clock.now(),
      };
      await db.insert(memories).values(row);
      return row;
    },

    async list(resourceId, options) {
      return db
        .select()
        .from(memories)
        .where(
          and(
            eq(memories.resourceId, resourceId),
            options?.scope ? eq(memories.scope, options.scope) : undefined,
            options?.sessionId ? eq(memories.sessionId, options.sessionId) : undefined,
          ),
        )
        .orderBy(asc(memories.createdAt), asc(memories.id));
    },

    async forSession(resourceId, sessionId) {
      return db
        .select()
        .from(memories)
        .where(
          and(eq(memories.resourceId, resourceId), or(isNull(memories.sessionId), eq(memories.sessionId, sessionId))),
        )
        .orderBy(asc(memories.createdAt), asc(memories.id));
    },

    async delete(resourceId, memoryId) {
      const result = await db
        .delete(memories)
        .where(and(eq(memories.id, memoryId), eq(memories.resourceId, resourceId)));
      return result.rowsAffected > 0;
    },

    async restore(memory) {
      const result = await db.insert(memories).values(memory).onConflictDoNothing();
      return result.rowsAffected > 0;
    },

    async getMany(memoryIds) {
      if (memoryIds.length === 0) return [];
      return db.select().from(memories).where(inArray(memories.id, memoryIds));
    },
  };
}
