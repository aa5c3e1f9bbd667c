import type { Clock, IdGenerator, SessionStore } from "@session-bridge/core";
import { and, count, desc, eq, inArray, lt, sql } from "drizzle-orm";
import { pageOf, pageRequest, type SessionCursor } from "../session-page.ts";
import type { PgDatabase } from "./client.ts";
import { sessions } from "./schema.ts";

/** What a session is outside this file: the lease columns stay internal. */
export const sessionColumns = {
  id: sessions.id,
  resourceId: sessions.resourceId,
  title: sessions.title,
  createdAt: sessions.createdAt,
  lastAccessed: sessions.lastAccessed,
};

/** A resource's sessions from `after` on, as a page reads them (with {@link sessionPageOrder}). */
export function sessionPageFilter(resourceId: string, after: SessionCursor | undefined) {
  return and(
    eq(sessions.resourceId, resourceId),
    // A row value, so the (resource_id, last_accessed, id) index is sought to the cursor.
    after
      ? sql`(${sessions.lastAccessed}, ${sessions.id}) < (${new Date(after.lastAccessed)}, ${after.id})`
      : undefined,
  );
}

/** Most recently used first. */
export const sessionPageOrder = [desc(sessions.lastAccessed), desc(sessions.id)];

/** Frees the session's lease if `leaseId` still holds it (the statement, for the store and for a turn's end). */
export function releaseLease(db: PgDatabase, sessionId: string, leaseId: string) {
  return db
    .update(sessions)
    .set({ turnLeaseId: null, turnLeaseUntil: null })
    .where(and(eq(sessions.id, sessionId), eq(sessions.turnLeaseId, leaseId)));
}

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
      const lease = options?.lease;
      const [row] = await db
        .insert(sessions)
        .values({
          id: generateId(),
          resourceId,
          title: options?.title ?? null,
          createdAt: now,
          lastAccessed: now,
          ...(lease ? { turnLeaseId: lease.leaseId, turnLeaseUntil: now.getTime() + lease.ttlMs } : {}),
        })
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
        .where(sessionPageFilter(resourceId, after))
        .orderBy(...sessionPageOrder)
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
      // One conditional UPDATE: of two processes, the row lock makes exactly one
      // win. Its FROM reads the lease as it was (locked), which RETURNING alone
      // cannot show: whether an expired holder's turns need recovering.
      const result = await db.execute<{
        id: string;
        resource_id: string;
        title: string | null;
        created_at: string;
        last_accessed: string;
        previous: string | null;
      }>(sql`
        UPDATE ${sessions} AS s
        SET turn_lease_id = ${leaseId}, turn_lease_until = ${now.getTime() + ttlMs}, last_accessed = ${now.toISOString()}
        FROM (SELECT id, turn_lease_id AS previous FROM ${sessions}
              WHERE id = ${sessionId} AND resource_id = ${resourceId} FOR UPDATE) AS before
        WHERE s.id = before.id AND (s.turn_lease_until IS NULL OR s.turn_lease_until < ${now.getTime()})
        RETURNING s.id, s.resource_id, s.title, s.created_at, s.last_accessed, before.previous`);
      const row = result.rows[0];
      if (!row) return undefined;
      return {
        session: {
          id: row.id,
          resourceId: row.resource_id,
          title: row.title,
          createdAt: new Date(row.created_at),
          lastAccessed: new Date(row.last_accessed),
        },
        tookOver: row.previous !== null,
      };
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
      await releaseLease(db, sessionId, leaseId);
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
