export type { LanguageModelV4, LanguageModelV4StreamPart } from "@ai-sdk/provider";
export type { App, AppOverrides } from "./app.ts";
export { createApp, migrateApp, reindexApp } from "./app.ts";
export type { AuthMode, Config, LogLevel } from "./config/config.ts";
export { ConfigError, isLoopbackHost, loadConfig } from "./config/config.ts";
export { parseDuration } from "./config/duration.ts";
export type { Database, DatabaseHandle, OpenDatabaseOptions } from "./db/client.ts";
export { openDatabase } from "./db/client.ts";
export type { MigrationStatus } from "./db/migrate.ts";
export { migrateDatabase, migrationStatus } from "./db/migrate.ts";
export { createHttpApp, maxBodyBytes } from "./http/create-http-app.ts";
export type { ErrorBody } from "./http/error-response.ts";
export { toErrorResponse } from "./http/error-response.ts";
export type { HttpServer } from "./http/http-server.ts";
export { startHttpServer } from "./http/http-server.ts";
export { createLogger } from "./logger.ts";
export type { Embedder, EmbeddingModel } from "./memory/embedders/embedder.ts";
export { defineEmbedder } from "./memory/embedders/embedder.ts";
export { FastembedUnavailableError, loadFastembedEmbedder } from "./memory/embedders/fastembed.ts";
export { embedderFromProvider } from "./memory/embedders/provider.ts";
export type { EmbedderSettings } from "./memory/embedders/registry.ts";
export { loadEmbedder } from "./memory/embedders/registry.ts";
export { loadUseLiteEmbedder } from "./memory/embedders/use-lite.ts";
export type { MemoryBridge, MemoryBridgeOptions } from "./memory/memory-bridge.ts";
export { createMemoryBridge, recallSettings } from "./memory/memory-bridge.ts";
export type { ReindexOptions, ReindexReport } from "./memory/reindex.ts";
export { reindexMemory } from "./memory/reindex.ts";
export type { VectorIndexInfo } from "./memory/vector-index.ts";
export { EmbedderMismatchError, indexNameFor } from "./memory/vector-index.ts";
export { demoLabel, LocalDemoModel } from "./models/local-demo-model.ts";
export type { ModelSettings } from "./models/model-registry.ts";
export { ModelUnavailableError, resolveLanguageModel } from "./models/model-registry.ts";
export { installProcessGuards } from "./process-guards.ts";
export { serve } from "./serve.ts";
export type { CleanupOptions, CleanupProgress, CleanupReport } from "./storage/cleanup.ts";
export { runCleanup } from "./storage/cleanup.ts";
export {
  InvalidRefError,
  InvalidRepositoryError,
  InvalidSearchPathError,
  RepositoryUnavailableError,
  ToolSessionNotFoundError,
  ToolStateConflictError,
} from "./storage/errors.ts";
export type { MemoryStoreOptions } from "./storage/memories.ts";
export { createMemoryStore, maxMemoryLength } from "./storage/memories.ts";
export type { RepoCacheOptions, ServerRepoCache } from "./storage/repo-cache.ts";
export { createRepoCache } from "./storage/repo-cache.ts";
export { repoResourceKey } from "./storage/repo-input.ts";
export type { ServerSessionStore, SessionStoreOptions } from "./storage/sessions.ts";
export { createSessionStore } from "./storage/sessions.ts";
export type { ToolSessionStoreOptions } from "./storage/tool-sessions.ts";
export { createToolSessionStore } from "./storage/tool-sessions.ts";
export type { TraceStore } from "./storage/traces.ts";
export { createTraceStore } from "./storage/traces.ts";
export type { SearchDocsInput, SearchDocsResult, SearchHit } from "./tools/search-docs.ts";
export { pageSize, searchDocs, searchDocsInput, searchDocsName } from "./tools/search-docs.ts";
export type { SequentialThinkingInput, SequentialThinkingResult } from "./tools/sequential-thinking.ts";
export {
  sequentialThinking,
  sequentialThinkingInput,
  sequentialThinkingName,
} from "./tools/sequential-thinking.ts";
export { updateToolState } from "./tools/tool-state.ts";
export type { ChatRequest } from "./turns/chat-request.ts";
export { parseChatRequest, UnsupportedFileUrlError } from "./turns/chat-request.ts";
export type { StartedTurn, TurnRunner, TurnRunnerOptions } from "./turns/turn-runner.ts";
export { createTurnRunner } from "./turns/turn-runner.ts";
