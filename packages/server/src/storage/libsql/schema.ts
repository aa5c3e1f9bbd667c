import { sql } from "drizzle-orm";
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** Times are stored as integer milliseconds since the epoch. */
const timestamp = (name: string) => integer(name, { mode: "timestamp_ms" }).notNull();

export const sessions = sqliteTable(
  "sessions",
  {
    id: text("id").primaryKey(), // UUIDv7, lower case
    resourceId: text("resource_id").notNull(),
    title: text("title"),
    createdAt: timestamp("created_at"),
    lastAccessed: timestamp("last_accessed"),
    // The running turn's lease: one turn per session across processes. A lease
    // whose holder died simply expires.
    turnLeaseId: text("turn_lease_id"),
    turnLeaseUntil: integer("turn_lease_until"),
  },
  (table) => [
    // Serves "a resource's sessions, most recently used first" and its keyset paging.
    index("sessions_resource_recent").on(table.resourceId, table.lastAccessed, table.id),
    // Serves TTL cleanup across all resources.
    index("sessions_last_accessed").on(table.lastAccessed),
  ],
);

export const toolSessions = sqliteTable(
  "tool_sessions",
  {
    toolSessionId: text("tool_session_id").primaryKey(), // UUIDv7
    sessionId: text("session_id")
      .notNull()
      .references(() => sessions.id, { onDelete: "cascade" }),
    toolName: text("tool_name").notNull(),
    toolKey: text("tool_key"),
    // SQLite treats NULLs in a unique index as distinct, so a unique index over
    // (session_id, tool_name, tool_key) would let NULL-keyed rows pile up. The
    // index uses this column instead: a NULL key becomes the one-byte BLOB
    // x'00', which equals no TEXT value, so '' and NULL stay different keys.
    // (Written without a comma: drizzle-kit 0.31 splits expressions at commas.)
    toolKeyNorm: text("tool_key_norm").generatedAlwaysAs(sql`CASE WHEN tool_key IS NULL THEN X'00' ELSE tool_key END`, {
      mode: "virtual",
    }),
    state: text("state", { mode: "json" }).$type<Record<string, unknown>>().notNull().default(sql`'{}'`),
    stateVersion: integer("state_version").notNull().default(0),
    createdAt: timestamp("created_at"),
    lastAccessed: timestamp("last_accessed"),
  },
  (table) => [uniqueIndex("tool_sessions_session_tool_key").on(table.sessionId, table.toolName, table.toolKeyNorm)],
);

export const repoCache = sqliteTable(
  "repo_cache",
  {
    resourceKey: text("resource_key").primaryKey(),
    url: text("url").notNull(),
    ref: text("ref"),
    searchPath: text("search_path"),
    localPath: text("local_path").notNull(),
    commit: text("commit").notNull(),
    clonedAt: timestamp("cloned_at"),
    lastUpdated: timestamp("last_updated"),
    lastAccessed: timestamp("last_accessed"),
  },
  (table) => [index("repo_cache_last_accessed").on(table.lastAccessed)],
);

export const memories = sqliteTable(
  "memories",
  {
    id: text("id").primaryKey(), // UUIDv7
    resourceId: text("resource_id").notNull(),
    scope: text("scope", { enum: ["user", "session"] }).notNull(),
    // Set exactly for session memories; they go with their session.
    sessionId: text("session_id").references(() => sessions.id, { onDelete: "cascade" }),
    text: text("text").notNull(),
    createdAt: timestamp("created_at"),
  },
  (table) => [
    index("memories_resource_session").on(table.resourceId, table.sessionId),
    index("memories_session").on(table.sessionId),
  ],
);

export const turnTraces = sqliteTable(
  "turn_traces",
  {
    id: text("id").primaryKey(), // the turn's id (UUIDv7)
    sessionId: text("session_id")
      .notNull()
      .references(() => sessions.id, { onDelete: "cascade" }),
    startedAt: timestamp("started_at"),
    trace: text("trace", { mode: "json" }).notNull(),
  },
  (table) => [index("turn_traces_session").on(table.sessionId, table.startedAt)],
);

export const users = sqliteTable("users", {
  id: text("id").primaryKey(), // UUIDv7; the user's resourceId
  name: text("name").notNull(),
  // SHA-256 of the API key; the key itself is shown once and never stored.
  apiKeyHash: text("api_key_hash").notNull().unique(),
  createdAt: timestamp("created_at"),
  revokedAt: integer("revoked_at", { mode: "timestamp_ms" }),
});

export const authTokens = sqliteTable(
  "auth_tokens",
  {
    tokenHash: text("token_hash").primaryKey(), // SHA-256 of the bearer token
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdAt: timestamp("created_at"),
    expiresAt: timestamp("expires_at"),
  },
  (table) => [index("auth_tokens_user").on(table.userId)],
);

/**
 * Every turn from the moment it starts: what resume, stop from another process
 * and crash recovery look up. `status` is `running` until the turn ends
 * (`complete`, `stopped`, `failed`) or is found abandoned (`interrupted`).
 */
export const turns = sqliteTable(
  "turns",
  {
    id: text("id").primaryKey(), // UUIDv7
    sessionId: text("session_id")
      .notNull()
      .references(() => sessions.id, { onDelete: "cascade" }),
    resourceId: text("resource_id").notNull(),
    // The chat id useChat sent, so `GET /api/chat/:id/stream` finds the turn by it.
    chatId: text("chat_id"),
    userMessageId: text("user_message_id").notNull(),
    assistantMessageId: text("assistant_message_id").notNull(),
    model: text("model").notNull(),
    // The session lease this turn holds, and the process holding it (`host:pid:instance`).
    leaseId: text("lease_id").notNull(),
    owner: text("owner").notNull(),
    status: text("status", { enum: ["running", "complete", "stopped", "interrupted", "failed"] }).notNull(),
    stopRequested: integer("stop_requested", { mode: "boolean" }).notNull().default(false),
    startedAt: timestamp("started_at"),
    endedAt: integer("ended_at", { mode: "timestamp_ms" }),
  },
  (table) => [
    index("turns_session_status").on(table.sessionId, table.status),
    index("turns_resource_chat").on(table.resourceId, table.chatId),
    index("turns_status_ended").on(table.status, table.endedAt),
  ],
);

/** A running turn's UI message stream, in batches, for resuming it. Removed shortly after the turn ends. */
export const turnChunks = sqliteTable(
  "turn_chunks",
  {
    turnId: text("turn_id")
      .notNull()
      .references(() => turns.id, { onDelete: "cascade" }),
    seq: integer("seq").notNull(),
    chunks: text("chunks", { mode: "json" }).notNull(),
  },
  (table) => [primaryKey({ columns: [table.turnId, table.seq] })],
);

/**
 * Model usage per user, day (UTC) and model. Kept apart from sessions so that
 * deleting a session does not rewrite what was used.
 */
export const usageDaily = sqliteTable(
  "usage_daily",
  {
    resourceId: text("resource_id").notNull(),
    day: text("day").notNull(), // YYYY-MM-DD, UTC
    model: text("model").notNull(),
    turns: integer("turns").notNull().default(0),
    inputTokens: integer("input_tokens").notNull().default(0),
    outputTokens: integer("output_tokens").notNull().default(0),
  },
  (table) => [primaryKey({ columns: [table.resourceId, table.day, table.model] })],
);

export type SessionRow = typeof sessions.$inferSelect;
export type ToolSessionRow = typeof toolSessions.$inferSelect;
export type RepoCacheRow = typeof repoCache.$inferSelect;
export type MemoryRow = typeof memories.$inferSelect;

/** Named leases for work one process at a time does (cleanup); see `MaintenanceLocks`. */
export const maintenanceLocks = sqliteTable("maintenance_locks", {
  name: text("name").primaryKey(),
  holder: text("holder").notNull(),
  until: integer("until").notNull(), // milliseconds since the epoch
});

/** The app database's version counters of the sessions API's answers (see resource-versions.ts, which makes their triggers). */
export const resourceVersions = sqliteTable("resource_versions", {
  resourceId: text("resource_id").primaryKey(),
  version: integer("version").notNull(),
});
