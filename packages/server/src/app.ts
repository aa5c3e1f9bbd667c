import path from "node:path";
import type { LanguageModelV4 } from "@ai-sdk/provider";
import {
  type Clock,
  type IdGenerator,
  type MemoryStore,
  systemClock,
  type ToolSessionStore,
} from "@session-bridge/core";
import { v7 as uuidv7 } from "uuid";
import type { Config } from "./config/config.ts";
import { type DatabaseHandle, openDatabase } from "./db/client.ts";
import { type MigrationStatus, migrateDatabase, migrationStatus } from "./db/migrate.ts";
import { createLogger, type Logger } from "./logger.ts";
import type { Embedder } from "./memory/embedders/embedder.ts";
import { loadEmbedder } from "./memory/embedders/registry.ts";
import { createMemoryBridge, type MemoryBridge } from "./memory/memory-bridge.ts";
import { type ReindexOptions, type ReindexReport, reindexMemory } from "./memory/reindex.ts";
import { resolveLanguageModel } from "./models/model-registry.ts";
import { type CleanupReport, runCleanup } from "./storage/cleanup.ts";
import { createMemoryStore } from "./storage/memories.ts";
import { createRepoCache, type ServerRepoCache } from "./storage/repo-cache.ts";
import { createSessionStore, type ServerSessionStore } from "./storage/sessions.ts";
import { createToolSessionStore } from "./storage/tool-sessions.ts";
import { createTraceStore, type TraceStore } from "./storage/traces.ts";
import { createTurnLog } from "./storage/turn-log.ts";
import { createUsageStore, type UsageStore } from "./storage/usage.ts";
import { createUserStore, type UserStore } from "./storage/users.ts";
import { createTurnRunner, type TurnRunner } from "./turns/turn-runner.ts";

/** What tests and embedders may swap; the real thing is the default. */
export interface AppOverrides {
  clock?: Clock;
  generateId?: IdGenerator;
  logger?: Logger;
  /** An embedder already loaded (tests share one; the default loads `EMBEDDER`). */
  embedder?: Embedder;
  /** The language model (tests pass `ai/test` mocks; the default resolves `MODEL`). */
  model?: LanguageModelV4;
  /** Crash-safe saving and the chunk log; off only to measure their cost. Default true. */
  durable?: boolean;
}

export interface App {
  config: Config;
  /** The clock every store and the turn runner read; the HTTP layer's rate limiter too. */
  clock: Clock;
  logger: Logger;
  database: DatabaseHandle;
  memoryDatabase: DatabaseHandle;
  sessions: ServerSessionStore;
  toolSessions: ToolSessionStore;
  memories: MemoryStore;
  memory: MemoryBridge;
  embedder: Embedder;
  repos: ServerRepoCache;
  traces: TraceStore;
  turns: TurnRunner;
  users: UserStore;
  usage: UsageStore;
  migrate(): Promise<MigrationStatus>;
  migrationStatus(): Promise<MigrationStatus>;
  cleanup(options?: {
    dryRun?: boolean;
    onProgress?: Parameters<typeof runCleanup>[0]["onProgress"];
  }): Promise<CleanupReport>;
  close(): Promise<void>;
}

/** Applies the app database's migrations without building anything else (`session-bridge migrate`). */
export async function migrateApp(config: Config): Promise<MigrationStatus> {
  const database = await openDatabase({ url: config.databaseUrl, authToken: config.databaseAuthToken });
  try {
    return await migrateDatabase(database.db);
  } finally {
    database.close();
  }
}

/** The user store alone, for `session-bridge users …` (no memory, no model). */
export async function withUserStore<T>(config: Config, work: (users: UserStore) => Promise<T>): Promise<T> {
  const database = await openDatabase({ url: config.databaseUrl, authToken: config.databaseAuthToken });
  try {
    await migrateDatabase(database.db);
    return await work(createUserStore({ db: database.db, clock: systemClock, generateId: () => uuidv7() }));
  } finally {
    database.close();
  }
}

/**
 * Re-embeds every stored message with the configured embedder
 * (`session-bridge reindex`); see {@link reindexMemory}.
 */
export async function reindexApp(
  config: Config,
  options: Pick<ReindexOptions, "signal" | "onProgress"> & { embedder?: Embedder } = {},
): Promise<ReindexReport> {
  const memoryDatabase = await openDatabase({ url: config.memoryDatabaseUrl, authToken: config.databaseAuthToken });
  try {
    return await reindexMemory({
      client: memoryDatabase.client,
      url: config.memoryDatabaseUrl,
      authToken: config.databaseAuthToken,
      embedder: options.embedder ?? (await loadConfiguredEmbedder(config)),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  } finally {
    memoryDatabase.close();
  }
}

function loadConfiguredEmbedder(config: Config): Promise<Embedder> {
  return loadEmbedder(config.embedder, {
    fastembedCacheDir: config.fastembedCacheDir,
    openaiApiKey: config.openaiApiKey,
    ollamaBaseUrl: config.ollamaBaseUrl,
  });
}

/**
 * The composition root: builds the real adapters from the configuration. The
 * only place that opens databases; nothing else reads the environment.
 * Migrates the app database before building the stores on it.
 *
 * @example
 * const app = await createApp(loadConfig(process.env));
 */
export async function createApp(config: Config, overrides: AppOverrides = {}): Promise<App> {
  const clock = overrides.clock ?? systemClock;
  const generateId = overrides.generateId ?? (() => uuidv7());
  const logger = overrides.logger ?? createLogger(config.logLevel);
  const database = await openDatabase({ url: config.databaseUrl, authToken: config.databaseAuthToken });
  const memoryDatabase = await openDatabase({ url: config.memoryDatabaseUrl, authToken: config.databaseAuthToken });
  try {
    await migrateDatabase(database.db);
    const { db } = database;
    const sessions = createSessionStore({ db, clock, generateId });
    const toolSessions = createToolSessionStore({ db, clock, generateId });
    const memories = createMemoryStore({ db, clock, generateId });
    const embedder = overrides.embedder ?? (await loadConfiguredEmbedder(config));
    const memory = await createMemoryBridge({
      client: memoryDatabase.client,
      url: config.memoryDatabaseUrl,
      authToken: config.databaseAuthToken,
      embedder,
      memories,
      clock,
      logger,
    });
    sessions.onCreate((session) => memory.createThread(session));
    sessions.onDelete((session) => memory.deleteThread(session));
    const repos = createRepoCache({
      db,
      clock,
      logger,
      directory: path.join(config.dataDir, "repos"),
      ttlMs: config.repoTtlMs,
      allowLocal: config.repoAllowLocal,
      gitTimeoutMs: config.gitTimeoutMs,
    });
    const traces = createTraceStore(db);
    const users = createUserStore({ db, clock, generateId });
    const usage = createUsageStore({ db, clock });
    const turns = createTurnRunner({
      sessions,
      memory,
      traces,
      usage,
      turnLog: createTurnLog({ db, clock }),
      ...(overrides.durable === undefined ? {} : { durable: overrides.durable }),
      tools: { toolSessions, repos, gitTimeoutMs: config.gitTimeoutMs },
      model:
        overrides.model ??
        resolveLanguageModel(config.model, {
          openaiApiKey: config.openaiApiKey,
          anthropicApiKey: config.anthropicApiKey,
          ollamaBaseUrl: config.ollamaBaseUrl,
        }),
      modelId: config.model,
      clock,
      generateId,
      logger,
    });

    return {
      config,
      clock,
      logger,
      database,
      memoryDatabase,
      sessions,
      toolSessions,
      memories,
      memory,
      embedder,
      repos,
      traces,
      turns,
      users,
      usage,
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
        await turns.settled();
        await memory.close();
        memoryDatabase.close();
        database.close();
        logger.flush();
      },
    };
  } catch (error) {
    memoryDatabase.close();
    database.close();
    throw error;
  }
}
