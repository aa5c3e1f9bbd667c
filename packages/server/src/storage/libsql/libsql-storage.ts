import { LibSQLStore } from "@mastra/libsql";
import type { AppStorage, Clock, IdGenerator, MemoryStorage, VectorStore } from "@session-bridge/core";
import { type DatabaseHandle, openDatabase } from "./client.ts";
import { createMaintenanceLocks } from "./maintenance-locks.ts";
import { createMemoryStore } from "./memory-store.ts";
import { createLibsqlMessageStore, prepareMessageCounts, prepareMessageSearch } from "./message-store.ts";
import { migrateDatabase, migrationStatus } from "./migrate.ts";
import { createRepoCacheRows } from "./repo-cache-rows.ts";
import { prepareMessageVersions } from "./resource-versions.ts";
import { createSessionStore } from "./session-store.ts";
import { clientSqlThread } from "./sql-thread.ts";
import { createToolSessionStore } from "./tool-session-store.ts";
import { createTraceStore } from "./trace-store.ts";
import { createTurnLog } from "./turn-log.ts";
import { createUsageStore } from "./usage-store.ts";
import { createUserStore } from "./user-store.ts";
import { openLibsqlVectorStore } from "./vector-store.ts";

export interface LibsqlStorageOptions {
  /** `file:…` (embedded), `libsql://…` or `http(s)://…` (a libSQL server). */
  url: string;
  authToken?: string | undefined;
  clock: Clock;
  generateId: IdGenerator;
  /**
   * Write a turn's end (and recovery's interruption of one) in a worker
   * thread (an embedded file; see createTurnLog). Default true; false for a database
   * that runs no turns (the repository cache's own file): no thread is started.
   */
  turnWriterThread?: boolean;
}

/** The app's storage on libSQL, with the database handle for what only libSQL has (tests, benchmarks). */
export type LibsqlStorage = AppStorage & { database: DatabaseHandle };

/**
 * Every app store on one libSQL database (one client, shared). The schema is
 * migrated by {@link AppStorage.migrate}, not here.
 *
 * @example
 * const storage = await openLibsqlStorage({ url: "file:./data/session-bridge.db", clock, generateId });
 * await storage.migrate();
 */
export async function openLibsqlStorage(options: LibsqlStorageOptions): Promise<LibsqlStorage> {
  const database = await openDatabase({ url: options.url, authToken: options.authToken });
  const { db, reader } = database;
  const { clock, generateId } = options;
  // A turn's end, off the serving thread (see createTurnLog).
  const writer =
    options.turnWriterThread === false ? clientSqlThread(database.client) : database.openThread({ writesOnly: true });
  try {
    await writer.ready();
  } catch (error) {
    await writer.close();
    database.close();
    throw error;
  }
  return {
    database,
    sessions: createSessionStore({ db, reader, clock, generateId }),
    toolSessions: createToolSessionStore({ db, clock, generateId }),
    memories: createMemoryStore({ db, clock, generateId }),
    turns: createTurnLog({ db, clock, writer }),
    traces: createTraceStore(db),
    users: createUserStore({ db, reader, clock, generateId }),
    usage: createUsageStore({ db, clock }),
    repos: createRepoCacheRows(db),
    locks: createMaintenanceLocks({ db, clock }),
    migrate: () => migrateDatabase(db),
    migrationStatus: () => migrationStatus(db),
    async close() {
      await writer.close();
      database.close();
    },
  };
}

/** Mastra Memory's storage on libSQL, with the database handle for what only libSQL has. */
export type LibsqlMemoryStorage = MemoryStorage & { database: DatabaseHandle };

/**
 * Messages and vectors on one libSQL database: Mastra's `LibSQLStore` creates
 * its tables (sharing our client), the bridge reads and writes the message
 * rows, and the vectors live in tables as Mastra's `LibSQLVector` makes them.
 */
export async function openLibsqlMemoryStorage(options: {
  url: string;
  authToken?: string | undefined;
  /** Bytes of users' vectors held in memory for recall's searches (`RECALL_CACHE_MB`; none by default). */
  recallCacheBytes?: number;
}): Promise<LibsqlMemoryStorage> {
  const database = await openDatabase({ url: options.url, authToken: options.authToken });
  try {
    await new LibSQLStore({ id: "session-bridge-memory", client: database.client }).init();
    // The counters first: rebuilding the counts raises them.
    await prepareMessageVersions(database.client);
    await prepareMessageCounts(database.client);
    await prepareMessageSearch(database.client);
    // Searches and writes that would hold up the serving thread (see SqlThread). A thread that
    // cannot start stops the start-up here, not every request later.
    const worker = database.openThread();
    let vectors: VectorStore;
    try {
      vectors = await openLibsqlVectorStore({
        client: database.client,
        worker,
        reader: database.reader,
        // Embedded files only: elsewhere the counters' read is a round trip of its own.
        cacheBytes: database.file === undefined ? 0 : (options.recallCacheBytes ?? 0),
      });
      await worker.ready();
    } catch (error) {
      await worker.close();
      throw error;
    }
    return {
      database,
      messages: createLibsqlMessageStore(database.client, database.reader, worker),
      vectors,
      async close() {
        await vectors.close();
        await worker.close();
        database.close();
      },
    };
  } catch (error) {
    database.close();
    throw error;
  }
}
