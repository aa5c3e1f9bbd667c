import { availableParallelism } from "node:os";
import path from "node:path";
import { z } from "zod";
import { parseDuration } from "./duration.ts";

export type AuthMode = "none" | "apikey";
export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

/** Everything the server reads from the environment, validated. */
export interface Config {
  host: string;
  port: number;
  dataDir: string;
  /** `file:` (embedded libSQL), `libsql://`/`http(s)://` (a libSQL server) or `postgres(ql)://`. */
  databaseUrl: string;
  databaseAuthToken: string | undefined;
  /** Mastra Memory's database; the app's own when that is PostgreSQL. */
  memoryDatabaseUrl: string;
  /** Connections each PostgreSQL pool of this process may open (`DATABASE_POOL_SIZE`). */
  databasePoolSize: number;
  auth: AuthMode;
  model: string;
  embedder: string;
  /**
   * Worker threads that compute `local:use-lite` vectors (`EMBEDDER_THREADS`, not in
   * the contract); 0 computes them on the thread that serves requests.
   */
  embedderThreads: number;
  /**
   * Query texts that may wait for the embedder (`EMBED_QUEUE_LIMIT`, not in the
   * contract): beyond it a new turn is refused with 503 `server_busy` and `Retry-After`.
   */
  embedQueueLimit: number;
  /**
   * Bytes of sessions API answers kept in memory per server (`API_CACHE_MB`, not in
   * the contract); 0 caches nothing. See `registerSessionRoutes`.
   */
  apiCacheBytes: number;
  /**
   * Bytes of users' message vectors kept in memory per server for recall's
   * searches (`RECALL_CACHE_MB`, not in the contract; an embedded memory file
   * only); 0 keeps none. See docs/storage.md.
   */
  recallCacheBytes: number;
  sessionTtlMs: number;
  repoTtlMs: number;
  maxSessionsPerUser: number;
  repoAllowLocal: boolean;
  logLevel: LogLevel;
  /** How often the server runs cleanup (`CLEANUP_INTERVAL`, not in the contract). */
  cleanupIntervalMs: number;
  /** How often the server looks for turns whose process died (`RECOVERY_INTERVAL`, not in the contract). */
  recoveryIntervalMs: number;
  /** Longest a single git command may run (`GIT_TIMEOUT`, not in the contract). */
  gitTimeoutMs: number;
  /** How long a bearer token from `POST /api/auth/token` lives (`TOKEN_TTL`, not in the contract). */
  tokenTtlMs: number;
  /**
   * Longest time to receive a request and start answering it (`REQUEST_TIMEOUT`,
   * not in the contract); a streamed turn runs on after its answer started.
   */
  requestTimeoutMs: number;
  /** Where `fastembed:bge-small-en-v1.5` finds its model files (`FASTEMBED_CACHE_DIR`). */
  fastembedCacheDir: string | undefined;
  openaiApiKey: string | undefined;
  anthropicApiKey: string | undefined;
  /** OpenAI-compatible base URL of an Ollama server (`OLLAMA_BASE_URL`). */
  ollamaBaseUrl: string;
}

/** Start-up stops with this; its message is one line naming the variable(s). */
export class ConfigError extends Error {
  constructor(readonly issues: string[]) {
    super(`Invalid configuration: ${issues.join("; ")}`);
    this.name = "ConfigError";
  }
}

const modelProviders = ["local", "openai", "anthropic", "ollama"];
const embedderProviders = ["local", "fastembed", "openai", "ollama"];

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((text, context) => {
      const milliseconds = parseDuration(text);
      if (milliseconds === undefined || milliseconds <= 0) {
        context.addIssue({ code: "custom", message: `expected a duration like 30d, 12h, 15m or 30s, got "${text}"` });
        return z.NEVER;
      }
      return milliseconds;
    });

const integer = (fallback: number, min: number, max: number) =>
  z
    .string()
    .default(String(fallback))
    .transform((text, context) => {
      const value = Number(text);
      if (!/^\d+$/.test(text.trim()) || value < min || value > max) {
        context.addIssue({ code: "custom", message: `expected a whole number from ${min} to ${max}, got "${text}"` });
        return z.NEVER;
      }
      return value;
    });

const boolean = (fallback: boolean) =>
  z
    .string()
    .default(String(fallback))
    .transform((text, context) => {
      const normalized = text.trim().toLowerCase();
      if (["true", "1", "yes", "on"].includes(normalized)) return true;
      if (["false", "0", "no", "off"].includes(normalized)) return false;
      context.addIssue({ code: "custom", message: `expected true or false, got "${text}"` });
      return z.NEVER;
    });

const providerModel = (providers: string[], fallback: string) =>
  z
    .string()
    .default(fallback)
    .refine((text) => /^[a-z0-9-]+:\S+$/.test(text) && providers.includes(text.split(":", 1)[0] ?? ""), {
      message: `expected provider:model with provider one of ${providers.join(", ")}`,
    });

const databaseUrl = z
  .string()
  .refine((url) => /^(file:|libsql:\/\/|https?:\/\/|wss?:\/\/|postgres(ql)?:\/\/)/.test(url), {
    message: "expected file:<path>, libsql://…, http(s)://…, ws(s)://… or postgres(ql)://…",
  })
  .optional();

/** One thread per core beyond the one serving requests, at least one and at most four. */
function defaultEmbedderThreads(): number {
  return Math.min(4, Math.max(1, availableParallelism() - 1));
}

/** True for a PostgreSQL connection URL. */
export const isPostgresUrl = (url: string) => /^postgres(ql)?:\/\//.test(url);

const environmentSchema = z.object({
  HOST: z.string().min(1).default("127.0.0.1"),
  PORT: integer(3000, 0, 65_535),
  DATA_DIR: z.string().min(1).default("./data"),
  DATABASE_URL: databaseUrl,
  DATABASE_AUTH_TOKEN: z.string().optional(),
  MEMORY_DATABASE_URL: databaseUrl,
  DATABASE_POOL_SIZE: integer(10, 1, 1000),
  AUTH: z.enum(["none", "apikey"]).default("none"),
  MODEL: providerModel(modelProviders, "local:demo"),
  EMBEDDER: providerModel(embedderProviders, "local:use-lite"),
  EMBEDDER_THREADS: integer(defaultEmbedderThreads(), 0, 64),
  EMBED_QUEUE_LIMIT: integer(1000, 1, 1_000_000),
  API_CACHE_MB: integer(32, 0, 65_536),
  RECALL_CACHE_MB: integer(64, 0, 65_536),
  SESSION_TTL: duration("30d"),
  REPO_TTL: duration("7d"),
  MAX_SESSIONS_PER_USER: integer(1000, 1, 10_000_000),
  REPO_ALLOW_LOCAL: boolean(false),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
  CLEANUP_INTERVAL: duration("1h"),
  RECOVERY_INTERVAL: duration("10s"),
  GIT_TIMEOUT: duration("2m"),
  TOKEN_TTL: duration("1h"),
  REQUEST_TIMEOUT: duration("30s"),
  FASTEMBED_CACHE_DIR: z.string().optional(),
  OPENAI_API_KEY: z.string().optional(),
  ANTHROPIC_API_KEY: z.string().optional(),
  OLLAMA_BASE_URL: z
    .url({ protocol: /^https?$/, error: "expected an http(s) URL" })
    .default("http://127.0.0.1:11434/v1"),
});

/** True for addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  return bare === "localhost" || bare === "::1" || /^127(\.\d{1,3}){3}$/.test(bare);
}

/**
 * Reads and validates the configuration. Empty variables count as unset.
 *
 * @throws {ConfigError} naming every bad variable, on one line.
 * @example
 * const config = loadConfig(process.env);
 */
export function loadConfig(environment: Record<string, string | undefined>): Config {
  const present = Object.fromEntries(
    Object.entries(environment).filter(([, value]) => value !== undefined && value !== ""),
  );
  const parsed = environmentSchema.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`));
  }
  const values = parsed.data;
  if (values.AUTH === "none" && !isLoopbackHost(values.HOST)) {
    throw new ConfigError([
      `AUTH: "none" is only allowed when HOST is a loopback address (HOST is "${values.HOST}"); set AUTH=apikey`,
    ]);
  }
  const dataDir = path.resolve(values.DATA_DIR);
  const databaseUrl = values.DATABASE_URL ?? `file:${path.join(dataDir, "session-bridge.db")}`;
  return {
    host: values.HOST,
    port: values.PORT,
    dataDir,
    databaseUrl,
    databaseAuthToken: values.DATABASE_AUTH_TOKEN,
    // On PostgreSQL, memory lives in the same database unless told otherwise.
    memoryDatabaseUrl:
      values.MEMORY_DATABASE_URL ??
      (isPostgresUrl(databaseUrl) ? databaseUrl : `file:${path.join(dataDir, "memory.db")}`),
    databasePoolSize: values.DATABASE_POOL_SIZE,
    auth: values.AUTH,
    model: values.MODEL,
    embedder: values.EMBEDDER,
    embedderThreads: values.EMBEDDER_THREADS,
    embedQueueLimit: values.EMBED_QUEUE_LIMIT,
    apiCacheBytes: values.API_CACHE_MB * 1024 * 1024,
    recallCacheBytes: values.RECALL_CACHE_MB * 1024 * 1024,
    sessionTtlMs: values.SESSION_TTL,
    repoTtlMs: values.REPO_TTL,
    maxSessionsPerUser: values.MAX_SESSIONS_PER_USER,
    repoAllowLocal: values.REPO_ALLOW_LOCAL,
    logLevel: values.LOG_LEVEL,
    cleanupIntervalMs: values.CLEANUP_INTERVAL,
    recoveryIntervalMs: values.RECOVERY_INTERVAL,
    gitTimeoutMs: values.GIT_TIMEOUT,
    tokenTtlMs: values.TOKEN_TTL,
    requestTimeoutMs: values.REQUEST_TIMEOUT,
    fastembedCacheDir: values.FASTEMBED_CACHE_DIR,
    openaiApiKey: values.OPENAI_API_KEY,
    anthropicApiKey: values.ANTHROPIC_API_KEY,
    ollamaBaseUrl: values.OLLAMA_BASE_URL,
  };
}
