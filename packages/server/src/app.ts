import path from "node:path";
import type { LanguageModelV4 } from "@ai-sdk/provider";
import {
  type AppStorage,
  type Clock,
  type IdGenerator,
  type MemoryStorage,
  type MemoryStore,
  type MigrationStatus,
  type SessionStore,
  systemClock,
  type ToolSessionStore,
  type TraceStore,
  type UsageStore,
  type UserStore,
} from "@session-bridge/core";
import { v7 as uuidv7 } from "uuid";
import type { Config } from "./config/config.ts";
import { createLogger, type Logger } from "./logger.ts";
import type { Embedder } from "./memory/embedders/embedder.ts";
import { loadEmbedder } from "./memory/embedders/registry.ts";
import { createMemoryBridge, type MemoryBridge } from "./memory/memory-bridge.ts";
import { type ReindexOptions, type ReindexReport, reindexMemory } from "./memory/reindex.ts";
import { activeIndexFor } from "./memory/vector-index.ts";
import { resolveLanguageModel } from "./models/model-registry.ts";
import { type CleanupReport, runCleanup } from "./storage/cleanup.ts";
import type { DatabaseHandle } from "./storage/libsql/client.ts";
import { openStorage } from "./storage/open-storage.ts";
import { createRepoCache, type ServerRepoCache } from "./storage/repo-cache.ts";
import type { ListSessions, SessionsVersion } from "./storage/session-listing.ts";
import { withMemoryThreads } from "./storage/session-threads.ts";
import { createTurnRunner, type TurnRunner } from "./turns/turn-runner.ts";

/** What tests and embedders may swap; the real thing is the default. */
export interface AppOverrides {
  clock?: Clock;
  generateId?: IdGenerator;
  logger?: Logger;
  /** An embedder already loaded (tests share one; the default loads `EMBEDDER`). */
  embedder?: Embedder;
  /**
   * Worker threads for the embedder the app loads: a server passes `config.embedderThreads`.
   * Default 0 (on the calling thread): a command that embeds little starts no threads.
   */
  embedderThreads?: number;
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
  /** The app's stores, as their backend's adapters implement them. */
  storage: AppStorage;
  /** Mastra Memory's storage (messages and vectors), as its backend's adapters implement it. */
  memoryStorage: MemoryStorage;
  /** What the migrations applied when the app was built. */
  migrations: MigrationStatus;
  /** The libSQL databases (app, memory) when that is the backend: for what only libSQL has (tests, benchmarks). */
  database: DatabaseHandle | undefined;
  memoryDatabase: DatabaseHandle | undefined;
  /** Sessions with their memory threads. */
  sessions: SessionStore;
  /** Pages of sessions with their message counts (`GET /api/sessions`). */
  listSessions: ListSessions;
  /**
   * What the sessions API's cache compares before answering from memory, where
   * both databases are embedded files; undefined elsewhere (nothing cached).
   */
  sessionsVersion: SessionsVersion | undefined;
  toolSessions: ToolSessionStore;
  memories: MemoryStore;
  traces: TraceStore;
  users: UserStore;
  usage: UsageStore;
  memory: MemoryBridge;
  embedder: Embedder;
  repos: ServerRepoCache;
  turns: TurnRunner;
  migrationStatus(): Promise<MigrationStatus>;
  cleanup(options?: {
    dryRun?: boolean;
    onProgress?: Parameters<typeof runCleanup>[0]["onProgress"];
  }): Promise<CleanupReport>;
  close(): Promise<void>;
}

/** The app's stores alone, migrated (the CLI's `users`), closed after `work`. */
export async function withStorage<T>(config: Config, work: (storage: AppStorage) => Promise<T>): Promise<T> {
  const { storage, close } = await openStorage(config, systemClock, () => uuidv7());
  try {
    await storage.migrate();
    return await work(storage);
  } finally {
    await close();
  }
}

/**
 * All schema work, done once (`session-bridge migrate`; every server start does
 * the same): the app's tables, Mastra Memory's, and the vector index of the
 * configured embedder. On PostgreSQL, under an advisory lock.
 */
export async function migrateApp(
  config: Config,
  options: { embedder?: Embedder } = {},
): Promise<MigrationStatus & { vectorIndexOutdated: boolean }> {
  const { storage, memoryStorage, close } = await openStorage(config, systemClock, () => uuidv7());
  try {
    const status = await storage.migrate();
    const embedder = options.embedder ?? (await loadConfiguredEmbedder(config));
    const index = await memoryStorage.vectors.ensureIndex(await activeIndexFor(memoryStorage.vectors, embedder));
    // An index `reindex` should rebuild (older search settings, or a reindex that did not finish).
    return { ...status, vectorIndexOutdated: index.outdated };
  } finally {
    await close();
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
  const { memoryStorage, close } = await openStorage(config, systemClock, () => uuidv7());
  try {
    return await reindexMemory({
      messages: memoryStorage.messages,
      vectors: memoryStorage.vectors,
      embedder: options.embedder ?? (await loadConfiguredEmbedder(config)),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  } finally {
    await close();
  }
}

/** The configured embedder; `threads`: its worker threads (a server's), else none (a command's). */
function loadConfiguredEmbedder(config: Config, threads = 0): Promise<Embedder> {
  return loadEmbedder(config.embedder, {
    fastembedCacheDir: config.fastembedCacheDir,
    openaiApiKey: config.openaiApiKey,
    ollamaBaseUrl: config.ollamaBaseUrl,
    threads,
  });
}

/**
 * The composition root: builds the real adapters from the configuration. The
 * only place that opens databases; nothing else reads the environment.
 * Migrates the app database (once per start) before building on it.
 *
 * @example
 * const app = await createApp(loadConfig(process.env));
 */
export async function createApp(config: Config, overrides: AppOverrides = {}): Promise<App> {
  const clock = overrides.clock ?? systemClock;
  const generateId = overrides.generateId ?? (() => uuidv7());
  const logger = overrides.logger ?? createLogger(config.logLevel);
  const opened = await openStorage(config, clock, generateId);
  const { storage, memoryStorage } = opened;
  // An embedder a test passed in is the test's to close; the app closes the one it loads.
  let ownEmbedder: Embedder | undefined;
  try {
    const migrations = await storage.migrate();
    const embedder = overrides.embedder ?? (await loadConfiguredEmbedder(config, overrides.embedderThreads ?? 0));
    if (embedder !== overrides.embedder) ownEmbedder = embedder;
    const memory = await createMemoryBridge({
      messages: memoryStorage.messages,
      vectors: memoryStorage.vectors,
      embedder,
      memories: storage.memories,
      clock,
      logger,
    });
    const sessions = withMemoryThreads(storage.sessions, memory);
    const repos = createRepoCache({
      rows: storage.repos,
      clock,
      logger,
      directory: path.join(config.dataDir, "repos"),
      ttlMs: config.repoTtlMs,
      allowLocal: config.repoAllowLocal,
      gitTimeoutMs: config.gitTimeoutMs,
    });
    const turns = createTurnRunner({
      sessions,
      memory,
      traces: storage.traces,
      turnLog: storage.turns,
      ...(overrides.durable === undefined ? {} : { durable: overrides.durable }),
      tools: { toolSessions: storage.toolSessions, repos, gitTimeoutMs: config.gitTimeoutMs },
      model:
        overrides.model ??
        resolveLanguageModel(config.model, {
          openaiApiKey: config.openaiApiKey,
          anthropicApiKey: config.anthropicApiKey,
          ollamaBaseUrl: config.ollamaBaseUrl,
        }),
      modelId: config.model,
      embedQueueLimit: config.embedQueueLimit,
      clock,
      generateId,
      logger,
    });

    return {
      config,
      clock,
      logger,
      storage,
      memoryStorage,
      migrations,
      database: opened.database,
      memoryDatabase: opened.memoryDatabase,
      sessions,
      listSessions: opened.listSessions,
      sessionsVersion: opened.sessionsVersion,
      toolSessions: storage.toolSessions,
      memories: storage.memories,
      traces: storage.traces,
      users: storage.users,
      usage: storage.usage,
      memory,
      embedder,
      repos,
      turns,
      migrationStatus: () => storage.migrationStatus(),
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
        await ownEmbedder?.close?.();
        await opened.close();
        logger.flush();
      },
    };
  } catch (error) {
    await ownEmbedder?.close?.();
    await opened.close();
    throw error;
  }
}
