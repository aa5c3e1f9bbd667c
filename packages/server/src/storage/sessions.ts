import type {
  Clock,
  IdGenerator,
  ListSessionsOptions,
  Session,
  SessionCreationHook,
  SessionDeletionHook,
  SessionPage,
  SessionStore,
} from "@session-bridge/core";
import { InvalidRequestError } from "@session-bridge/shared";
import { and, desc, eq, sql } from "drizzle-orm";
import type { Database } from "../db/client.ts";
import { sessions, toolSessions } from "../db/schema.ts";

export const defaultPageSize = 20;

/** What a session is outside this file: the lease columns stay internal. */
const sessionColumns = {
  id: sessions.id,
  resourceId: sessions.resourceId,
  title: sessions.title,
  createdAt: sessions.createdAt,
  lastAccessed: sessions.lastAccessed,
};
export const maxPageSize = 100;

/** The server's session store: the core port plus what cleanup needs. */
export interface ServerSessionStore extends SessionStore {
  /** Registers work to run when a session is created (its memory thread); a failure undoes the creation. */
  onCreate(hook: SessionCreationHook): void;
  /** Registers work to run before a session is deleted (memory, traces, …). */
  onDelete(hook: SessionDeletionHook): void;
  /** The resource's sessions in order of creation, after `after`: a paging key that never moves (export). */
  listByCreation(resourceId: string, options: { after: Session | null; limit: number }): Promise<Session[]>;
  /** Sessions of any resource not used since `before`, oldest first. */
  findIdle(before: Date, limit: number): Promise<Session[]>;
  /** Sessions beyond the newest `keep` of their resource, least recently used first. */
  findBeyondLimit(keep: number, limit: number): Promise<Session[]>;
  /**
   * Takes the session's turn lease for `ttlMs` unless another live lease holds
   * it, and touches `last_accessed`: one conditional UPDATE, so two processes
   * can never both win.
   */
  acquireTurnLease(resourceId: string, sessionId: string, leaseId: string, ttlMs: number): Promise<boolean>;
  /** Extends a lease this holder still has; false when it was lost. */
  renewTurnLease(sessionId: string, leaseId: string, ttlMs: number): Promise<boolean>;
  releaseTurnLease(sessionId: string, leaseId: string): Promise<void>;
  /** Deletes a session found by maintenance (runs the hooks); false when already gone. */
  deleteSession(session: Session): Promise<boolean>;
}

export interface SessionStoreOptions {
  db: Database;
  clock: Clock;
  generateId: IdGenerator;
}

/**
 * Sessions in the app database, always scoped to the owning resource.
 *
 * @example
 * const store = createSessionStore({ db, clock: systemClock, generateId: uuidv7 });
 * const session = await store.create("user-1");
 */
export function createSessionStore({ db, clock, generateId }: SessionStoreOptions): ServerSessionStore {
  const creationHooks: SessionCreationHook[] = [];
  const hooks: SessionDeletionHook[] = [];
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
    })
    .returning(sessionColumns)
    .prepare();
  const selectSession = db.select(sessionColumns).from(sessions).where(byIdForResource).prepare();
  const touchSession = db
    .update(sessions)
    .set({ lastAccessed: sql.placeholder("now") as unknown as Date })
    .where(byIdForResource)
    .prepare();

  async function deleteSession(session: Session): Promise<boolean> {
    for (const hook of hooks) await hook(session);
    // Tool sessions cascade by foreign key; deleting them explicitly as well keeps
    // this correct on a remote server whose connections may not enforce it.
    const [, deleted] = await db.batch([
      db.delete(toolSessions).where(eq(toolSessions.sessionId, session.id)),
      db.delete(sessions).where(and(eq(sessions.id, session.id), eq(sessions.resourceId, session.resourceId))),
    ]);
    return deleted.rowsAffected > 0;
  }

  return {
    async create(resourceId, options) {
      const row = await insertSession.get({
        id: generateId(),
        resourceId,
        title: options?.title ?? null,
        now: clock.now(),
      });
      if (!row) throw new Error("INSERT … RETURNING returned no row");
      try {
        for (const hook of creationHooks) await hook(row);
      } catch (error) {
        await deleteSession(row).catch(() => undefined);
        throw error;
      }
      return row;
    },

    async get(resourceId, sessionId) {
      return selectSession.get({ id: sessionId, resourceId });
    },

    async touch(resourceId, sessionId) {
      const result = await touchSession.run({ id: sessionId, resourceId, now: clock.now() });
      return result.rowsAffected > 0;
    },

    async list(resourceId, options?: ListSessionsOptions): Promise<SessionPage> {
      const limit = options?.limit ?? defaultPageSize;
      if (!Number.isInteger(limit) || limit < 1 || limit > maxPageSize) {
        throw new InvalidRequestError(`limit must be a whole number from 1 to ${maxPageSize}`, { field: "limit" });
      }
      const after = options?.cursor ? decodeCursor(options.cursor) : undefined;
      const rows = await db
        .select(sessionColumns)
        .from(sessions)
        .where(
          and(
            eq(sessions.resourceId, resourceId),
            after &&
              // A row value, so SQLite seeks the (resource_id, last_accessed, id) index
              // to the cursor instead of reading every row before it.
              sql`(${sessions.lastAccessed}, ${sessions.id}) < (${after.lastAccessed}, ${after.id})`,
          ),
        )
        .orderBy(desc(sessions.lastAccessed), desc(sessions.id))
        .limit(limit + 1);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return { sessions: page, nextCursor: rows.length > limit && last ? encodeCursor(last) : null };
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

    async delete(resourceId, sessionId) {
      const session = await selectSession.get({ id: sessionId, resourceId });
      return session ? deleteSession(session) : false;
    },

    onCreate(hook) {
      creationHooks.push(hook);
    },

    onDelete(hook) {
      hooks.push(hook);
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
      const rows = await db
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
        .returning({ id: sessions.id });
      return rows.length > 0;
    },

    async renewTurnLease(sessionId, leaseId, ttlMs) {
      const result = await db
        .update(sessions)
        .set({ turnLeaseUntil: clock.now().getTime() + ttlMs })
        .where(and(eq(sessions.id, sessionId), eq(sessions.turnLeaseId, leaseId)));
      return result.rowsAffected > 0;
    },

    async releaseTurnLease(sessionId, leaseId) {
      await db
        .update(sessions)
        .set({ turnLeaseId: null, turnLeaseUntil: null })
        .where(and(eq(sessions.id, sessionId), eq(sessions.turnLeaseId, leaseId)));
    },

    deleteSession,
  };
}

interface Cursor {
  lastAccessed: number;
  id: string;
}

function encodeCursor(session: Session): string {
  return Buffer.from(JSON.stringify([session.lastAccessed.getTime(), session.id])).toString("base64url");
}

function decodeCursor(cursor: string): Cursor {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
    if (Array.isArray(value) && Number.isSafeInteger(value[0]) && typeof value[1] === "string") {
      return { lastAccessed: value[0], id: value[1] };
    }
  } catch {
    // fall through to the same error as a well-formed but wrong cursor
  }
  throw new InvalidRequestError("cursor is not one this server returned", { field: "cursor" });
}
