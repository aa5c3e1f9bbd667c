import type { MaintenanceLocks } from "./maintenance-locks.ts";
import type { MemoryStore } from "./memory-store.ts";
import type { MessageStore } from "./message-store.ts";
import type { RepoCacheRows } from "./repo-cache.ts";
import type { SessionStore } from "./session-store.ts";
import type { ToolSessionStore } from "./tool-session-store.ts";
import type { TraceStore } from "./trace-store.ts";
import type { TurnLog } from "./turn-log.ts";
import type { UsageStore } from "./usage-store.ts";
import type { UserStore } from "./user-store.ts";
import type { VectorStore } from "./vector-store.ts";

export interface MigrationStatus {
  applied: number;
  available: number;
}

/**
 * Everything the app keeps in its own database, one adapter per backend
 * (embedded or remote libSQL, PostgreSQL), each passing the same behaviour suites.
 */
export interface AppStorage {
  sessions: SessionStore;
  toolSessions: ToolSessionStore;
  memories: MemoryStore;
  turns: TurnLog;
  traces: TraceStore;
  users: UserStore;
  usage: UsageStore;
  repos: RepoCacheRows;
  locks: MaintenanceLocks;
  /** Applies pending schema migrations (idempotent, safe when several processes start at once). */
  migrate(): Promise<MigrationStatus>;
  migrationStatus(): Promise<MigrationStatus>;
  close(): Promise<void>;
}

/** Conversation messages and their vectors: Mastra Memory's storage. */
export interface MemoryStorage {
  messages: MessageStore;
  vectors: VectorStore;
  close(): Promise<void>;
}
