import path from "node:path";
import type { AppStorage, Clock, IdGenerator, MemoryStorage } from "@session-bridge/core";
import { type Config, isPostgresUrl } from "../config/config.ts";
import type { DatabaseHandle } from "./libsql/client.ts";
import { openLibsqlMemoryStorage, openLibsqlStorage } from "./libsql/libsql-storage.ts";
import { openLibsqlSessionListing } from "./libsql/session-listing.ts";
import type { PostgresHandle } from "./postgres/client.ts";
import {
  openPostgres,
  openPostgresMemoryStorage,
  openPostgresStorage,
  preparePostgresMemory,
} from "./postgres/postgres-storage.ts";
import { postgresSessionListing } from "./postgres/session-listing.ts";
import { type ListSessions, listSessionsThenCounts, type SessionsVersion } from "./session-listing.ts";

// Part of the composition root (app.ts, its only caller): the one place that
// turns database URLs into clients and pools.

export interface OpenedStorage {
  storage: AppStorage;
  memoryStorage: MemoryStorage;
  /** The libSQL databases, when that is the backend (tests and benchmarks reach into them). */
  database: DatabaseHandle | undefined;
  memoryDatabase: DatabaseHandle | undefined;
  /**
   * Pages of sessions with their message counts: one statement where both databases are embedded
   * files, or one PostgreSQL database; otherwise the page, then the counts.
   */
  listSessions: ListSessions;
  /** Where both databases are embedded files (see {@link SessionsVersion}); elsewhere undefined: nothing is cached. */
  sessionsVersion: SessionsVersion | undefined;
  close(): Promise<void>;
}

/**
 * The app's and Mastra Memory's storage, each on the backend its URL names:
 * an embedded or remote libSQL database, or PostgreSQL (one pool per database
 * per process, shared when memory lives in the app's database). Mastra's
 * tables are created here, once: on PostgreSQL under an advisory lock.
 */
export async function openStorage(config: Config, clock: Clock, generateId: IdGenerator): Promise<OpenedStorage> {
  const closers: (() => Promise<void>)[] = [];
  let closed: Promise<void> | undefined;
  // Closing twice (a test that closes early, then its cleanup) closes once.
  const close = () => {
    closed ??= (async () => {
      for (const closer of closers.reverse()) await closer();
    })();
    return closed;
  };
  try {
    let storage: AppStorage;
    let database: DatabaseHandle | undefined;
    let postgres: PostgresHandle | undefined;
    if (isPostgresUrl(config.databaseUrl)) {
      postgres = openPostgres({ url: config.databaseUrl, max: config.databasePoolSize });
      // A checkout exists only on the machine that cloned it, so the repository cache's
      // index stays beside the checkouts (a local file), not in the shared database.
      const local = await openLibsqlStorage({
        url: `file:${path.join(config.dataDir, "repo-cache.db")}`,
        clock,
        generateId,
        turnWriterThread: false,
      });
      closers.push(() => local.close());
      await local.migrate();
      storage = { ...openPostgresStorage(postgres, { clock, generateId }), repos: local.repos };
    } else {
      const libsql = await openLibsqlStorage({
        url: config.databaseUrl,
        authToken: config.databaseAuthToken,
        clock,
        generateId,
      });
      storage = libsql;
      database = libsql.database;
    }
    closers.push(() => storage.close());
    let memoryStorage: MemoryStorage;
    let memoryDatabase: DatabaseHandle | undefined;
    let sharedPostgres: PostgresHandle | undefined;
    if (isPostgresUrl(config.memoryDatabaseUrl)) {
      const shared = postgres && config.memoryDatabaseUrl === config.databaseUrl;
      const handle = shared
        ? (postgres as PostgresHandle)
        : openPostgres({ url: config.memoryDatabaseUrl, max: config.databasePoolSize });
      if (shared) sharedPostgres = handle;
      await preparePostgresMemory(handle);
      memoryStorage = openPostgresMemoryStorage(handle, {
        url: config.memoryDatabaseUrl,
        // PgVector only creates, lists and drops vector tables: the vectors go through the app's pool.
        vectorPoolSize: 2,
        owned: !shared,
      });
    } else {
      const libsql = await openLibsqlMemoryStorage({
        url: config.memoryDatabaseUrl,
        authToken: config.databaseAuthToken,
        recallCacheBytes: config.recallCacheBytes,
      });
      memoryStorage = libsql;
      memoryDatabase = libsql.database;
    }
    closers.push(() => memoryStorage.close());
    let listSessions = listSessionsThenCounts(storage.sessions, memoryStorage.messages);
    let sessionsVersion: SessionsVersion | undefined;
    if (sharedPostgres) listSessions = postgresSessionListing(sharedPostgres.db);
    if (database?.file && memoryDatabase?.file) {
      const listing = openLibsqlSessionListing(database, memoryDatabase.file);
      closers.push(async () => listing.close());
      listSessions = listing.list;
      sessionsVersion = listing.version;
    }
    return { storage, memoryStorage, database, memoryDatabase, listSessions, sessionsVersion, close };
  } catch (error) {
    await close();
    throw error;
  }
}
