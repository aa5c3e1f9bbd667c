import path from "node:path";
import type { ToolSessionStore } from "@session-bridge/core";
import { type Clock, type IdGenerator, systemClock } from "@session-bridge/core";
import { v7 as uuidv7 } from "uuid";
import type { Config } from "./config/config.ts";
import { type DatabaseHandle, openDatabase } from "./db/client.ts";
import { type MigrationStatus, migrateDatabase, migrationStatus } from "./db/migrate.ts";
import { createLogger, type Logger } from "./logger.ts";
import { type CleanupReport, runCleanup } from "./storage/cleanup.ts";
import { createRepoCache, type ServerRepoCache } from "./storage/repo-cache.ts";
import { createSessionStore, type ServerSessionStore } from "./storage/sessions.ts";
import { createToolSessionStore } from "./storage/tool-sessions.ts";

/** What tests and embedders may swap; the real thing is the default. */
export interface AppOverrides {
  clock?: Clock;
  generateId?: IdGenerator;
  logger?: Logger;
}

export interface App {
  config: Config;
  logger: Logger;
  database: DatabaseHandle;
  sessions: ServerSessionStore;
  toolSessions: ToolSessionStore;
  repos: ServerRepoCache;
  migrate(): Promise<MigrationStatus>;
  migrationStatus(): Promise<MigrationStatus>;
  cleanup(options?: {
    dryRun?: boolean;
    onProgress?: Parameters<typeof runCleanup>[0]["onProgress"];
  }): Promise<CleanupReport>;
  close(): Promise<void>;
}

/**
 * The composition root: builds the real adapters from the configuration. The
 * only place that opens databases; nothing else reads the environment.
 *
 * @example
 * const app = await createApp(loadConfig(process.env));
 * await app.migrate();
 */
export async function createApp(config: Config, overrides: AppOverrides = {}): Promise<App> {
  const clock = overrides.clock ?? systemClock;
  const generateId = overrides.generateId ?? (() => uuidv7());
  const logger = overrides.logger ?? createLogger(config.logLevel);
  const database = await openDatabase({ url: config.databaseUrl, authToken: config.databaseAuthToken });
  const { db } = database;
  const sessions = createSessionStore({ db, clock, generateId });
  const toolSessions = createToolSessionStore({ db, clock, generateId });
  const repos = createRepoCache({
    db,
    clock,
    logger,
    directory: path.join(config.dataDir, "repos"),
    ttlMs: config.repoTtlMs,
    allowLocal: config.repoAllowLocal,
    gitTimeoutMs: config.gitTimeoutMs,
  });

  return {
    config,
    logger,
    database,
    sessions,
    toolSessions,
    repos,
    migrate: () => migrateDatabase(db),
    migrationStatus: () => migrationStatus(db),
    cleanup: (options) =>
      runCleanup({
        sessions,
        repos,
        clock,
        sessionTtlMs: config.sessionTtlMs,
        repoTtlMs: config.repoTtlMs,
        maxSessionsPerUser: config.maxSessionsPerUser,
        ...options,
      }),
    async close() {
      database.close();
      logger.flush();
    },
  };
}
