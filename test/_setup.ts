import { execFileSync } from "node:child_process";
import { access, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import type { TestContext } from "node:test";
import { createClient, type InArgs } from "@libsql/client";
import type { Clock } from "@session-bridge/core";
import {
  type App,
  type Config,
  createApp,
  type Embedder,
  type LanguageModelV4,
  loadConfig,
} from "@session-bridge/server";
import pg from "pg";
import pino from "pino";
import { loadUseLiteEmbedder } from "../packages/server/src/memory/embedders/use-lite.ts";
import { openDatabase } from "../packages/server/src/storage/libsql/client.ts";
import { migrateDatabase } from "../packages/server/src/storage/libsql/migrate.ts";
import { type BackendName, backendEnvironment } from "./_backends.ts";

/** True when the path exists. */
export const exists = (target: string) =>
  access(target).then(
    () => true,
    () => false,
  );

/** A fresh folder removed after the test. */
export async function makeTempDir(t: TestContext, prefix = "session-bridge-test-"): Promise<string> {
  const directory = await mkdtemp(path.join(tmpdir(), prefix));
  t.after(() => rm(directory, { recursive: true, force: true }));
  return directory;
}

/** A migrated libSQL file in a temp folder, closed after the test. */
export async function openTestDatabase(t: TestContext, file?: string) {
  const databaseFile = file ?? path.join(await makeTempDir(t), "app.db");
  const handle = await openDatabase({ url: `file:${databaseFile}` });
  t.after(() => handle.close());
  await migrateDatabase(handle.db);
  return { ...handle, file: databaseFile };
}

const pools = new Map<string, pg.Pool>();
process.once("beforeExit", () => {
  for (const pool of pools.values()) void pool.end();
});

/** Where a test's data lives: an app it built, or the configuration of a server process it runs. */
export type DataPlace = Pick<App, "database" | "memoryDatabase"> & {
  config: Pick<Config, "databaseUrl" | "memoryDatabaseUrl">;
};

/** Where a server process on `dataDir` with `environment` keeps its data (see `startServer`). */
export function dataPlaceOf(dataDir: string, environment: Record<string, string> = {}): DataPlace {
  return { config: testConfig(dataDir, environment), database: undefined, memoryDatabase: undefined };
}

/**
 * Rows of a query on the app's own database (`memory`: Mastra Memory's),
 * whatever its backend. Placeholders are `?`; write SQL both SQLite and
 * PostgreSQL understand. Values come back as the driver gives them (PostgreSQL
 * counts are strings: compare through `Number`).
 */
export async function querySql(
  place: DataPlace,
  text: string,
  args: unknown[] = [],
  options: { memory?: boolean } = {},
): Promise<Record<string, unknown>[]> {
  const url = options.memory ? place.config.memoryDatabaseUrl : place.config.databaseUrl;
  if (/^postgres(ql)?:/.test(url)) {
    let pool = pools.get(url);
    if (!pool) {
      pool = new pg.Pool({ connectionString: url, max: 2, allowExitOnIdle: true });
      pool.on("error", () => {}); // an idle connection the server closed
      pools.set(url, pool);
    }
    let position = 0;
    return (
      await pool.query(
        text.replace(/\?/g, () => `$${++position}`),
        args,
      )
    ).rows;
  }
  const database = options.memory ? place.memoryDatabase : place.database;
  // A server process's file: a client of our own, for this query.
  const client = database?.client ?? createClient({ url });
  try {
    const result = await client.execute({ sql: text, args: args as InArgs });
    return result.rows.map((row) => Object.fromEntries(result.columns.map((column) => [column, row[column]])));
  } finally {
    if (!database) client.close();
  }
}

/** A clock that only moves when told to. */
export interface TestClock extends Clock {
  advance(milliseconds: number): void;
  set(date: Date): void;
}

export function makeClock(start = new Date("2026-01-01T00:00:00.000Z")): TestClock {
  let current = start.getTime();
  return {
    now: () => new Date(current),
    advance: (milliseconds) => {
      current += milliseconds;
    },
    set: (date) => {
      current = date.getTime();
    },
  };
}

/** The real time, moved forward by `advance` (for what must happen "later" without waiting). */
export function makeShiftedClock(): TestClock {
  let offset = 0;
  return {
    now: () => new Date(Date.now() + offset),
    advance: (milliseconds) => {
      offset += milliseconds;
    },
    set: (date) => {
      offset = date.getTime() - Date.now();
    },
  };
}

/** Log lines captured in memory, for asserting on what was (not) logged. */
export function makeCapturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: "debug" },
    {
      write: (line: string) => {
        lines.push(JSON.parse(line));
      },
    },
  );
  return { logger, lines };
}

/** Configuration for a test app living entirely in `dataDir`. */
export function testConfig(dataDir: string, environment: Record<string, string> = {}): Config {
  return loadConfig({ DATA_DIR: dataDir, REPO_ALLOW_LOCAL: "true", LOG_LEVEL: "silent", ...environment });
}

let useLite: Promise<Embedder> | undefined;

/** The real offline embedder, loaded once per test process. */
export function sharedEmbedder(): Promise<Embedder> {
  useLite ??= loadUseLiteEmbedder();
  return useLite;
}

/** The real app on temp files, migrated, closed after the test. */
export async function makeTestApp(
  t: TestContext,
  options: {
    dataDir?: string;
    environment?: Record<string, string>;
    clock?: Clock;
    embedder?: Embedder;
    model?: LanguageModelV4;
    /** Where the app keeps its data; a fresh database unless `environment` names one. Default libSQL. */
    backend?: BackendName;
  } = {},
): Promise<App & { logLines: Record<string, unknown>[]; environment: Record<string, string> }> {
  const dataDir = options.dataDir ?? (await makeTempDir(t));
  const { logger, lines } = makeCapturedLogger();
  const environment =
    options.backend && options.environment?.DATABASE_URL === undefined
      ? { ...(await backendEnvironment(t, options.backend)), ...options.environment }
      : { ...options.environment };
  const app = await createApp(testConfig(dataDir, environment), {
    logger,
    embedder: options.embedder ?? (await sharedEmbedder()),
    ...(options.model ? { model: options.model } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
  });
  t.after(() => app.close());
  return Object.assign(app, { logLines: lines, environment });
}

const gitIdentity = {
  GIT_AUTHOR_NAME: "Test",
  GIT_AUTHOR_EMAIL: "test@example.com",
  GIT_COMMITTER_NAME: "Test",
  GIT_COMMITTER_EMAIL: "test@example.com",
  GIT_CONFIG_GLOBAL: "/dev/null",
  GIT_CONFIG_NOSYSTEM: "1",
};

/** Runs git in `cwd` for a test, returning trimmed stdout. */
export function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, env: { ...process.env, ...gitIdentity }, encoding: "utf8" }).trim();
}

/** A real git repository with one commit of `files` on branch `main`. */
export async function makeGitRepo(
  t: TestContext,
  files: Record<string, string>,
): Promise<{ dir: string; url: string }> {
  const dir = path.join(await makeTempDir(t, "session-bridge-repo-"), "origin");
  await mkdir(dir);
  git(dir, "init", "--quiet", "--initial-branch=main");
  await commitFiles(dir, files, "initial commit");
  return { dir, url: `file://${dir}` };
}

/** Writes `files` and commits them; returns the new commit. */
export async function commitFiles(dir: string, files: Record<string, string>, message: string): Promise<string> {
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true });
    await writeFile(path.join(dir, name), content);
  }
  git(dir, "add", "--all");
  git(dir, "commit", "--quiet", "--allow-empty", "-m", message);
  return git(dir, "rev-parse", "HEAD");
}

/** Holds every call of `object[method]` until `release()`; `returned()` says whether one has come back since. */
export function holdCalls<T extends object>(object: T, method: keyof T & string) {
  const target = object as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const own = target[method]?.bind(object);
  if (!own) throw new Error(`no ${method} to hold`);
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let returned = false;
  target[method] = async (...args) => {
    await gate;
    const result = await own(...args);
    returned = true;
    return result;
  };
  return { release, returned: () => returned };
}

/** Whether `condition()` comes to hold within 5 s (asked every 5 ms). */
export async function eventually(condition: () => boolean | Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + 5_000;
  while (!(await condition()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  return condition();
}
