import type { InArgs } from "@libsql/client";
import type { Clock, IdGenerator, ListSessionsOptions, Session, SessionStore } from "@session-bridge/core";
import { and, count, desc, eq, inArray, type SQL, sql } from "drizzle-orm";
import { pageOf, pageRequest } from "../session-page.ts";
import type { Database } from "./client.ts";
import { readQuery, readRowsAsJson, type SqlReader } from "./reader.ts";
import { sessions } from "./schema.ts";

/** What a session is outside this file: the lease columns stay internal. */
const sessionColumns = {
  id: sessions.id,
  resourceId: sessions.resourceId,
  title: sessions.title,
  createdAt: sessions.createdAt,
  lastAccessed: sessions.lastAccessed,
};

export interface SessionStoreOptions {
  db: Database;
  /** Where `get` and `list`, a request's reads, go. */
  reader: SqlReader;
  clock: Clock;
  generateId: IdGenerator;
}

/**
 * Pages of a resource's sessions, most recently used first, each read through
 * `reader` as one JSON value (see {@link readRowsAsJson}): rows of the
 * session's columns (as {@link sessionOf} reads them), then `joined`'s
 * columns, and the page size asked for (one more row is read: is there a next page?).
 */
export function sessionPages(db: Database, reader: SqlReader, joined?: { columns: string[]; join: string }) {
  const page = (after?: SQL) =>
    readRowsAsJson(
      reader,
      db
        .select(sessionColumns)
        .from(sessions)
        .where(and(eq(sessions.resourceId, sql.placeholder("resourceId")), after))
        .orderBy(desc(sessions.lastAccessed), desc(sessions.id))
        .limit(sql.placeholder("limit")),
      Object.values(sessionColumns).map((column) => column.name),
      [`"${sessions.lastAccessed.name}" DESC`, `"${sessions.id.name}" DESC`],
      joined,
    );
  const firstPage = page();
  // A row value, so SQLite seeks the (resource_id, last_accessed, id) index
  // to the cursor instead of reading every row before it.
  const laterPage = page(
    sql`(${sessions.lastAccessed}, ${sessions.id}) < (${sql.placeholder("lastAccessed")}, ${sql.placeholder("id")})`,
  );
  return async (resourceId: string, options?: ListSessionsOptions) => {
    const { limit, after } = pageRequest(options);
    const rows = after
      ? await laterPage({ resourceId, lastAccessed: after.lastAccessed, id: after.id, limit: limit + 1 })
      : await firstPage({ resourceId, limit: limit + 1 });
    return { rows, limit };
  };
}

/** Frees the session's lease if `leaseId` still holds it (the statement, for the store and for a turn's end). */
export function releaseLease(db: Database, sessionId: string, leaseId: string) {
  return db
    .update(sessions)
    .set({ turnLeaseId: null, turnLeaseUntil: null })
    .where(and(eq(sessions.id, sessionId), eq(sessions.turnLeaseId, leaseId)));
}

/**
 * Sessions in the app database, always scoped to the owning resource.
 *
 * @example
 * const store = createSessionStore({ db, clock: systemClock, generateId: uuidv7 });
 * const session = await store.create("user-1");
 */
export function createSessionStore({ db, reader, clock, generateId }: SessionStoreOptions): SessionStore {
  const byIdForResource = and(
    eq(sessions.id, sql.placeholder("id")),
    eq(sessions.resourceId, sql.placeholder("resourceId")),
  );
  const insertSession = db
    .insert(sessions)
    .values({
      id: sql.placeholder("id"),
      resourceId: sql.placeholder("resourceId"),
      title: sql.placeholder("title"),
      createdAt: sql.placeholder("now"),
      lastAccessed: sql.placeholder("now"),
      turnLeaseId: sql.placeholder("leaseId"),
      turnLeaseUntil: sql.placeholder("leaseUntil"),
    })
    .returning(sessionColumns)
    .prepare();
  const selectSession = readQuery(reader, db.select(sessionColumns).from(sessions).where(byIdForResource));
  const pages = sessionPages(db, reader);
  const touchSession = db
    .update(sessions)
    .set({ lastAccessed: sql.placeholder("now") as unknown as Date })
    .where(byIdForResource)
    .prepare();

  return {
    async create(resourceId, options) {
      const now = clock.now();
      const lease = options?.lease;
      const row = await insertSession.get({
        id: generateId(),
        resourceId,
        title: options?.title ?? null,
        now,
        leaseId: lease?.leaseId ?? null,
        leaseUntil: lease ? now.getTime() + lease.ttlMs : null,
      });
      if (!row) throw new Error("INSERT … RETURNING returned no row");
      return row;
    },

    async get(resourceId, sessionId) {
      const [row] = await selectSession({ id: sessionId, resourceId });
      return row && sessionOf(row);
    },

    async touch(resourceId, sessionId) {
      const result = await touchSession.run({ id: sessionId, resourceId, now: clock.now() });
      return result.rowsAffected > 0;
    },

    async list(resourceId, options) {
      const { rows, limit } = await pages(resourceId, options);
      return pageOf(rows.map(sessionOf), limit);
    },

    async listByCreation(resourceId, { after, limit }) {
      return db
        .select(sessionColumns)
        .from(sessions)
        .where(
          and(
            eq(sessions.resourceId, resourceId),
            after
              ? sql`(${sessions.createdAt}, ${sessions.id}) > (${after.createdAt.getTime()}, ${after.id})`
              : undefined,
          ),
        )
        .orderBy(sessions.createdAt, sessions.id)
        .limit(limit);
    },

    async rename(resourceId, sessionId, title) {
      const [row] = await db
        .update(sessions)
        .set({ title })
        .where(and(eq(sessions.id, sessionId), eq(sessions.resourceId, resourceId)))
        .returning(sessionColumns);
      return row;
    },

    async count(resourceId) {
      const [row] = await db.select({ total: count() }).from(sessions).where(eq(sessions.resourceId, resourceId));
      return row?.total ?? 0;
    },

    async delete(resourceId, sessionId) {
      // Tool sessions, session memories, turns, chunk logs and traces go by cascade.
      const result = await db
        .delete(sessions)
        .where(and(eq(sessions.id, sessionId), eq(sessions.resourceId, resourceId)));
      return result.rowsAffected > 0;
    },

    async findIdle(before, limit) {
      return db
        .select(sessionColumns)
        .from(sessions)
        .where(sql`${sessions.lastAccessed} < ${before.getTime()}`)
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
      const now = clock.now().getTime();
      const take = db
        .update(sessions)
        // Taking the lease is using the session: one write marks both.
        .set({ turnLeaseId: leaseId, turnLeaseUntil: now + ttlMs, lastAccessed: new Date(now) })
        .where(
          and(
            eq(sessions.id, sessionId),
            eq(sessions.resourceId, resourceId),
            sql`(${sessions.turnLeaseUntil} IS NULL OR ${sessions.turnLeaseUntil} < ${now})`,
          ),
        )
        .returning(sessionColumns)
        .toSQL();
      // One write transaction (SQLite's RETURNING shows only new values): the lease as it was, then taken.
      const [before, taken] = await db.$client.batch(
        [
          { sql: "SELECT turn_lease_id FROM sessions WHERE id = ? AND resource_id = ?", args: [sessionId, resourceId] },
          { sql: take.sql, args: take.params as InArgs },
        ],
        "write",
      );
      const row = taken?.rows[0];
      if (!row) return undefined;
      return {
        session: {
          id: String(row.id),
          resourceId: String(row.resource_id),
          title: row.title === null ? null : String(row.title),
          createdAt: new Date(Number(row.created_at)),
          lastAccessed: new Date(Number(row.last_accessed)),
        },
        tookOver: before?.rows[0]?.turn_lease_id != null,
      };
    },

    async renewTurnLease(sessionId, leaseId, ttlMs) {
      const result = await db
        .update(sessions)
        .set({ turnLeaseUntil: clock.now().getTime() + ttlMs })
        .where(and(eq(sessions.id, sessionId), eq(sessions.turnLeaseId, leaseId)));
      return result.rowsAffected > 0;
    },

    async releaseTurnLease(sessionId, leaseId) {
      await releaseLease(db, sessionId, leaseId);
    },

    async restore(session) {
      const result = await db
        .insert(sessions)
        .values({
          id: session.id,
          resourceId: session.resourceId,
          title: session.title,
          createdAt: session.createdAt,
          lastAccessed: session.lastAccessed,
        })
        .onConflictDoNothing();
      return result.rowsAffected > 0;
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

/** A row of {@link sessionColumns}, in their order, as the reader answers it. */
/** A session from a row of its columns in {@link sessionColumns}' order. */
export function sessionOf(row: unknown[]): Session {
  return {
    id: row[0] as string,
    resourceId: row[1] as string,
    title: row[2] as string | null,
    createdAt: new Date(row[3] as number),
    lastAccessed: new Date(row[4] as number),
  };
}
