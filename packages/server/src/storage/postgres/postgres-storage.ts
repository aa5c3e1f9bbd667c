import { PostgresStore } from "@mastra/pg";
import type { AppStorage, Clock, IdGenerator, MemoryStorage } from "@session-bridge/core";
import {
  migratePostgres,
  openPostgres,
  type PostgresHandle,
  postgresMigrationStatus,
  withSchemaLock,
} from "./client.ts";
import { createPostgresMaintenanceLocks } from "./maintenance-locks.ts";
import { createPostgresMemoryStore } from "./memory-store.ts";
import { createPostgresMessageStore, prepareMessageCounts, prepareMessageSearch } from "./message-store.ts";
import { createPostgresRepoCacheRows } from "./repo-cache-rows.ts";
import { createPostgresSessionStore } from "./session-store.ts";
import { createPostgresToolSessionStore } from "./tool-session-store.ts";
import { createPostgresTraceStore } from "./trace-store.ts";
import { createPostgresTurnLog } from "./turn-log.ts";
import { createPostgresUsageStore } from "./usage-store.ts";
import { createPostgresUserStore } from "./user-store.ts";
import { createBridgeTables, openPostgresVectorStore } from "./vector-store.ts";

/**
 * Every app store on one PostgreSQL database, over one pool (`handle`, shared
 * with the memory storage when memory lives in the same database). The schema
 * is migrated by {@link AppStorage.migrate}, under an advisory lock.
 *
 * @example
 * const storage = openPostgresStorage(openPostgres({ url, max: 10 }), { clock, generateId });
 */
export function openPostgresStorage(
  handle: PostgresHandle,
  { clock, generateId }: { clock: Clock; generateId: IdGenerator },
): AppStorage {
  const { db } = handle;
  return {
    sessions: createPostgresSessionStore({ db, clock, generateId }),
    toolSessions: createPostgresToolSessionStore({ db, clock, generateId }),
    memories: createPostgresMemoryStore({ db, clock, generateId }),
    turns: createPostgresTurnLog({ db, clock }),
    traces: createPostgresTraceStore(db),
    users: createPostgresUserStore({ db, clock, generateId }),
    usage: createPostgresUsageStore({ db, clock }),
    repos: createPostgresRepoCacheRows(db),
    locks: createPostgresMaintenanceLocks({ db, clock }),
    migrate: () => migratePostgres(handle),
    migrationStatus: () => postgresMigrationStatus(handle.pool),
    close: () => handle.close(),
  };
}

/**
 * Creates Mastra Memory's tables and the bridge's beside them, once, under the
 * schema lock: six processes running Mastra's own initialisation at once on an
 * empty database deadlock, so nothing else runs it (`session-bridge migrate`
 * and every server start come here).
 */
export async function preparePostgresMemory(handle: PostgresHandle): Promise<void> {
  await withSchemaLock(handle.pool, async () => {
    await new PostgresStore({ id: "session-bridge-memory", pool: handle.pool }).init();
    await createBridgeTables(handle.pool);
    await prepareMessageCounts(handle.pool);
    await prepareMessageSearch(handle.pool);
  });
}

/**
 * Messages and vectors on PostgreSQL with pgvector: the bridge reads and
 * writes the rows of Mastra's message table itself, Mastra's `PgVector` keeps
 * the vectors (its own pool of `vectorPoolSize`). Call
 * {@link preparePostgresMemory} first. `owned`: close the pool with the storage
 * (false when it is the app storage's too).
 */
export function openPostgresMemoryStorage(
  handle: PostgresHandle,
  options: { url: string; vectorPoolSize: number; owned: boolean },
): MemoryStorage {
  const vectors = openPostgresVectorStore({ pool: handle.pool, url: options.url, max: options.vectorPoolSize });
  return {
    messages: createPostgresMessageStore(handle.pool),
    vectors: {
      ...vectors,
      // Creating an index is schema work: one process at a time.
      ensureIndex: (info, options) => withSchemaLock(handle.pool, () => vectors.ensureIndex(info, options)),
    },
    async close() {
      await vectors.close();
      if (options.owned) await handle.close();
    },
  };
}

export { openPostgres };
