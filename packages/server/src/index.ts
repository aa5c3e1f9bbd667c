// The public surface of @session-bridge/server: what an application embedding
// the server needs. Everything else is internal; tests import it by path.
export type { LanguageModelV4, LanguageModelV4StreamPart } from "@ai-sdk/provider";
export type { App, AppOverrides } from "./app.ts";
export { createApp, migrateApp, reindexApp, withStorage } from "./app.ts";
export type { AuthMode, Config, LogLevel } from "./config/config.ts";
export { ConfigError, loadConfig } from "./config/config.ts";
export { createHttpApp, maxBodyBytes } from "./http/create-http-app.ts";
export type { HttpServer } from "./http/http-server.ts";
export { startHttpServer } from "./http/http-server.ts";
export { createLogger } from "./logger.ts";
export type { Embedder, EmbeddingModel } from "./memory/embedders/embedder.ts";
export { defineEmbedder } from "./memory/embedders/embedder.ts";
export type { EmbedderSettings } from "./memory/embedders/registry.ts";
export { loadEmbedder } from "./memory/embedders/registry.ts";
export { EmbedderMismatchError } from "./memory/vector-index.ts";
export { installProcessGuards } from "./process-guards.ts";
export { serve } from "./serve.ts";
