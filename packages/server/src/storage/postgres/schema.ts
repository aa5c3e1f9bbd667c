import {
  bigint,
  boolean,
  index,
  integer,
  json,
  pgTable,
  primaryKey,
  text,
  timestamp,
  unique,
} from "drizzle-orm/pg-core";

/** Times are stored with their zone, to the millisecond (what a JavaScript `Date` holds). */
const timestamptz = (name: string) => timestamp(name, { withTimezone: true, precision: 3, mode: "date" });

// The same tables as the libSQL schema (storage/libsql/schema.ts), in PostgreSQL's types.
// JSON columns are `json`, not `jsonb`: jsonb refuses the NUL character (\u0000),
// and tool state, traces and chunk logs hold whatever text users and models wrote.

export const sessions = pgTable(
  "sessions",
  {
    id: text("id").primaryKey(), // UUIDv7, lower case
    resourceId: text("resource_id").notNull(),
    title: text("title"),
    createdAt: timestamptz("created_at").notNull(),
    lastAccessed: timestamptz("last_accessed").notNull(),
    // The running turn's lease: one turn per session across processes. A lease
    // whose holder died simply expires (milliseconds since the epoch).
    turnLeaseId: text("turn_lease_id"),
    turnLeaseUntil: bigint("turn_lease_until", { mode: "number" }),
  },
  (table) => [
    // Serves "a resource's sessions, most recently used first" and its keyset paging.
    index("sessions_resource_recent").on(table.resourceId, table.lastAccessed, table.id),
    // Serves TTL cleanup across all resources.
    index("sessions_last_accessed").on(table.lastAccessed),
  ],
);

export const toolSessions = pgTable(
  "tool_sessions",
  {
    toolSessionId: text("tool_session_id").primaryKey(), // UUIDv7
    sessionId: text("session_id")
      .notNull()
      .references(() => sessions.id, { onDelete: "cascade" }),
    toolName: text("tool_name").notNull(),
    toolKey: text("tool_key"),
    state: json("state").$type<Record<string, unknown>>().notNull().default({}),
    stateVersion: integer("state_version").notNull().default(0),
    createdAt: timestamptz("created_at").notNull(),
    lastAccessed: timestamptz("last_accessed").notNull(),
  },
  // PostgreSQL 15's NULLS NOT DISTINCT: one row per (session, tool, key), a NULL
  // key included, while '' and NULL stay different keys.
  (table) => [
    unique("tool_sessions_session_tool_key").on(table.sessionId, table.toolName, table.toolKey).nullsNotDistinct(),
  ],
);

export const repoCache = pgTable(
  "repo_cache",
  {
    resourceKey: text("resource_key").primaryKey(),
    url: text("url").notNull(),
    ref: text("ref"),
    searchPath: text("search_path"),
    localPath: text("local_path").notNull(),
    commit: text("commit").notNull(),
    clonedAt: timestamptz("cloned_at").notNull(),
    lastUpdated: timestamptz("last_updated").notNull(),
    lastAccessed: timestamptz("last_accessed").notNull(),
  },
  (table) => [index("repo_cache_last_accessed").on(table.lastAccessed)],
);

export const memories = pgTable(
  "memories",
  {
    id: text("id").primaryKey(), // UUIDv7
    resourceId: text("resource_id").notNull(),
    scope: text("scope", { enum: ["user", "session"] }).notNull(),
    // Set exactly for session memories; they go with their session.
    sessionId: text("session_id").references(() => sessions.id, { onDelete: "cascade" }),
    text: text("text").notNull(),
    createdAt: timestamptz("created_at").notNull(),
  },
  (table) => [
    index("memories_resource_session").on(table.resourceId, table.sessionId),
    index("memories_session").on(table.sessionId),
  ],
);

export const turnTraces = pgTable(
  "turn_traces",
  {
    id: text("id").primaryKey(), // the turn's id (UUIDv7)
    sessionId: text("session_id")
      .notNull()
      .references(() => sessions.id, { onDelete: "cascade" }),
    startedAt: timestamptz("started_at").notNull(),
    trace: json("trace").notNull(),
  },
  (table) => [index("turn_traces_session").on(table.sessionId, table.startedAt)],
);

export const users = pgTable("users", {
  id: text("id").primaryKey(), // UUIDv7; the user's resourceId
  name: text("name").notNull(),
  // SHA-256 of the API key; the key itself is shown once and never stored.
  apiKeyHash: text("api_key_hash").notNull().unique(),
  createdAt: timestamptz("created_at").notNull(),
  revokedAt: timestamptz("revoked_at"),
});

export const authTokens = pgTable(
  "auth_tokens",
  {
    tokenHash: text("token_hash").primaryKey(), // SHA-256 of the bearer token
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    createdAt: timestamptz("created_at").notNull(),
    expiresAt: timestamptz("expires_at").notNull(),
  },
  (table) => [index("auth_tokens_user").on(table.userId)],
);

/** Every turn from the moment it starts (see the libSQL schema). */
export const turns = pgTable(
  "turns",
  {
    id: text("id").primaryKey(), // UUIDv7
    sessionId: text("session_id")
      .notNull()
      .references(() => sessions.id, { onDelete: "cascade" }),
    resourceId: text("resource_id").notNull(),
    chatId: text("chat_id"),
    userMessageId: text("user_message_id").notNull(),
    assistantMessageId: text("assistant_message_id").notNull(),
    model: text("model").notNull(),
    leaseId: text("lease_id").notNull(),
    owner: text("owner").notNull(),
    status: text("status", { enum: ["running", "complete", "stopped", "interrupted", "failed"] }).notNull(),
    stopRequested: boolean("stop_requested").notNull().default(false),
    startedAt: timestamptz("started_at").notNull(),
    endedAt: timestamptz("ended_at"),
  },
  (table) => [
    index("turns_session_status").on(table.sessionId, table.status),
    index("turns_resource_chat").on(table.resourceId, table.chatId),
    index("turns_status_ended").on(table.status, table.endedAt),
  ],
);

/** A running turn's UI message stream, in batches, for resuming it. Removed shortly after the turn ends. */
export const turnChunks = pgTable(
  "turn_chunks",
  {
    turnId: text("turn_id")
      .notNull()
      .references(() => turns.id, { onDelete: "cascade" }),
    seq: integer("seq").notNull(),
    chunks: json("chunks").notNull(),
  },
  (table) => [primaryKey({ columns: [table.turnId, table.seq] })],
);

/** Model usage per user, day (UTC) and model; kept when sessions go. */
export const usageDaily = pgTable(
  "usage_daily",
  {
    resourceId: text("resource_id").notNull(),
    day: text("day").notNull(), // YYYY-MM-DD, UTC
    model: text("model").notNull(),
    turns: integer("turns").notNull().default(0),
    inputTokens: bigint("input_tokens", { mode: "number" }).notNull().default(0),
    outputTokens: bigint("output_tokens", { mode: "number" }).notNull().default(0),
  },
  (table) => [primaryKey({ columns: [table.resourceId, table.day, table.model] })],
);

/** Named leases for work one process at a time does (cleanup); see `MaintenanceLocks`. */
export const maintenanceLocks = pgTable("maintenance_locks", {
  name: text("name").primaryKey(),
  holder: text("holder").notNull(),
  until: bigint("until", { mode: "number" }).notNull(), // milliseconds since the epoch
});
