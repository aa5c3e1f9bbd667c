import type { Clock, IdGenerator, SessionStore } from "@session-bridge/core";
import { and, count, desc, eq, inArray, isNull, lt, or, sql } from "drizzle-orm";
import { pageOf, pageRequest } from "../session-page.ts";
import type { PgDatabase } from "./client.ts";
import { sessions } from "./schema.ts";

/** What a session is outside this file: the lease columns stay internal. */
const sessionColumns = {
  id: sessions.id,
  resourceId: sessions.resourceId,
  title: sessions.title,
  createdAt: sessions.createdAt,
  lastAccessed: sessions.lastAccessed,
};

/** The {@link SessionStore} on PostgreSQL: the `sessions` table, always scoped to the owning resource. */
export function createPostgresSessionStore({
  db,
  clock,
  generateId,
}: {
  db: PgDatabase;
  clock: Clock;
  generateId: IdGenerator;
}): SessionStore {
  const ofResource = (resourceId: string, sessionId: string) =>
    and(eq(sessions.id, sessionId), eq(sessions.resourceId, resourceId));

  return {
    async create(resourceId, options) {
      const now = clock.now();
      const [row] = await db
        .insert(sessions)
        .values({ id: generateId(), resourceId, title: options?.title ?? null, createdAt: now, lastAccessed: now })
        .returning(sessionColumns);
      if (!row) throw new Error("INSERT … RETURNING returned no row");
      return row;
    },

    async get(resourceId, sessionId) {
      const [row] = await db.select(sessionColumns).from(sessions).where(ofResource(resourceId, sessionId));
      return row;
    },

    async touch(resourceId, sessionId) {
      const rows = await db
        .update(sessions)
        .set({ lastAccessed: clock.now() })
        .where(ofResource(resourceId, sessionId))
        .returning({ id: sessions.id });
      return rows.length > 0;
    },

    async list(resourceId, options) {
      const { limit, after } = pageRequest(options);
      const rows = await db
        .select(sessionColumns)
        .from(sessions)
        .where(
          and(
            eq(sessions.resourceId, resourceId),
            // A row value, so the (resource_id, last_accessed, id) index is sought to the cursor.
            after
              ? sql`(${sessions.lastAccessed}, ${sessions.id}) < (${new Date(after.lastAccessed)}, ${after.id})`
              : undefined,
          ),
        )
        .orderBy(desc(sessions.lastAccessed), desc(sessions.id))
        .limit(limit + 1);
      return pageOf(rows, limit);
    },

    async listByCreation(resourceId, { after, limit }) {
      return db
        .select(sessionColumns)
        .from(sessions)
        .where(
          and(
            eq(sessions.resourceId, resourceId),
            after ? sql`(${sessions.createdAt}, ${sessions.id}) > (${after.createdAt}, ${after.id})` : undefined,
          ),
        )
        .orderBy(sessions.createdAt, sessions.id)
        .limit(limit);
    },

    async count(resourceId) {
      const [row] = await db.select({ total: count() }).from(sessions).where(eq(sessions.resourceId, resourceId));
      return Number(row?.total ?? 0);
    },

    async rename(resourceId, sessionId, title) {
      const [row] = await db
        .update(sessions)
        .set({ title })
        .where(ofResource(resourceId, sessionId))
        .returning(sessionColumns);
      return row;
    },

    async delete(resourceId, sessionId) {
      // Tool sessions, session memories, turns, chunk logs and traces go by cascade.
      const rows = await db.delete(sessions).where(ofResource(resourceId, sessionId)).returning({ id: sessions.id });
      return rows.length > 0;
    },

    async findIdle(before, limit) {
      return db
        .select(sessionColumns)
        .from(sessions)
        .where(lt(sessions.lastAccessed, before))
        .orderBy(sessions.lastAccessed)
        .limit(limit);
    },

    async findBeyondLimit(keep, limit) {
      const ranked = db
        .select({
          id: sessions.id,
          rank: sql<number>`row_number() OVER (PARTITION BY ${sessions.resourceId} ORDER BY ${sessions.lastAccessed} DESC, ${sessions.id} DESC)`.as(
            "rank",
          ),
        })
        .from(sessions)
        .as("ranked");
      return db
        .select(sessionColumns)
        .from(sessions)
        .innerJoin(ranked, eq(ranked.id, sessions.id))
        .where(sql`${ranked.rank} > ${keep}`)
        .orderBy(sessions.lastAccessed)
        .limit(limit);
    },

    async acquireTurnLease(resourceId, sessionId, leaseId, ttlMs) {
      const now = clock.now();
      // One conditional UPDATE: of two processes, the row lock makes exactly one win.
      const rows = await db
        .update(sessions)
        // Taking the lease is using the session: one write marks both.
        .set({ turnLeaseId: leaseId, turnLeaseUntil: now.getTime() + ttlMs, lastAccessed: now })
        .where(
          and(
            ofResource(resourceId, sessionId),
            or(isNull(sessions.turnLeaseUntil), lt(sessions.turnLeaseUntil, now.getTime())),
          ),
        )
        .returning({ id: sessions.id });
      return rows.length > 0;
    },

    async renewTurnLease(sessionId, leaseId, ttlMs) {
      const rows = await db
        .update(sessions)
        .set({ turnLeaseUntil: clock.now().getTime() + ttlMs })
        .where(and(eq(sessions.id, sessionId), eq(sessions.turnLeaseId, leaseId)))
        .returning({ id: sessions.id });
      return rows.length > 0;
    },

    async releaseTurnLease(sessionId, leaseId) {
      await db
        .update(sessions)
        .set({ turnLeaseId: null, turnLeaseUntil: null })
        .where(and(eq(sessions.id, sessionId), eq(sessions.turnLeaseId, leaseId)));
    },

    async restore(session) {
      const rows = await db
        .insert(sessions)
        .values({
          id: session.id,
          resourceId: session.resourceId,
          title: session.title,
          createdAt: session.createdAt,
          lastAccessed: session.lastAccessed,
        })
        .onConflictDoNothing()
        .returning({ id: sessions.id });
      return rows.length > 0;
    },

    async ownersOf(sessionIds) {
      if (sessionIds.length === 0) return new Map();
      const rows = await db
        .select({ id: sessions.id, resourceId: sessions.resourceId })
        .from(sessions)
        .where(inArray(sessions.id, sessionIds));
      return new Map(rows.map((row) => [row.id, row.resourceId]));
    },
  };
}
