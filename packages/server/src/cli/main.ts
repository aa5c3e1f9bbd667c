import { parseArgs } from "node:util";
import type { UserStore } from "@session-bridge/core";
import { AppError } from "@session-bridge/shared";
import { ConfigError, loadConfig } from "../config/config.ts";
import { createLogger } from "../logger.ts";
import type { CleanupProgress } from "../storage/cleanup.ts";
import { createOutput, type Output } from "./output.ts";

// The app (Mastra, the AI SDK, the embedder) loads only for commands that need it,
// so that --help and mistakes answer at once.
const loadApp = () => import("../app.ts");

const usage = `Usage: session-bridge <command> [options]

Commands:
  serve               run the server (default for npm start)
  migrate             apply database migrations
  cleanup [--dry-run] remove idle and excess sessions and idle repositories
  reindex             re-embed every stored message with the configured EMBEDDER
  users create <name> create a user and print its API key (shown once)
  users list          list users
  users revoke <id>   revoke a user; their tokens end at once
  export <userId> [--out file.jsonl]
                      write a user's sessions, messages and memories as JSON lines
                      (to stdout without --out; "local" is the AUTH=none user)
  import <file.jsonl> import an export; existing records are kept, so it can run again

Options:
  --json              one JSON line on stdout instead of text
  --help              show this help`;

/** A mistake in how the command was called: exit code 2. */
class UsageError extends Error {}

export async function main(argv: string[]): Promise<number> {
  let output = createOutput(argv.includes("--json"));
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        json: { type: "boolean" },
        "dry-run": { type: "boolean" },
        out: { type: "string" },
        help: { type: "boolean" },
      },
    });
    output = createOutput(values.json === true);
    const [command, ...rest] = positionals;
    if (values.help || command === "help") {
      process.stdout.write(`${usage}\n`);
      return 0;
    }
    if (!command) throw new UsageError("no command given; try session-bridge --help");
    if (values.out !== undefined && command !== "export") throw new UsageError("--out only applies to export");
    if (command === "export" || command === "import") return await runTransfer(output, command, rest, values.out);
    if (command === "users") return await runUsers(output, rest);
    if (rest.length > 0) throw new UsageError(`unexpected argument "${rest[0]}"`);
    if (values["dry-run"] && command !== "cleanup") throw new UsageError("--dry-run only applies to cleanup");
    switch (command) {
      case "serve":
        return await runServe();
      case "migrate":
        return await runMigrate(output);
      case "cleanup":
        return await runCleanupCommand(output, values["dry-run"] === true);
      case "reindex":
        return await runReindex(output);
      default:
        throw new UsageError(`unknown command "${command}"; try session-bridge --help`);
    }
  } catch (error) {
    process.stderr.write(`session-bridge: ${describe(error)}\n`);
    return error instanceof UsageError || (error as { code?: unknown }).code === "ERR_PARSE_ARGS_UNKNOWN_OPTION"
      ? 2
      : 1;
  }
}

async function runServe(): Promise<number> {
  const config = loadConfig(process.env);
  const logger = createLogger(config.logLevel);
  const [{ createApp }, { installProcessGuards }, { serve }] = await Promise.all([
    loadApp(),
    import("../process-guards.ts"),
    import("../serve.ts"),
  ]);
  installProcessGuards(logger);
  const app = await createApp(config, { logger, embedderThreads: config.embedderThreads });
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  await serve(app, { signal: controller.signal });
  return 0;
}

async function runMigrate(output: Output): Promise<number> {
  const config = loadConfig(process.env);
  const { migrateApp } = await loadApp();
  const status = await migrateApp(config);
  const outdated = status.vectorIndexOutdated
    ? " The vector index has older search settings or an unfinished reindex: run session-bridge reindex."
    : "";
  output.result(`Migrations applied: ${status.applied} of ${status.available}.${outdated}`, status);
  return 0;
}

async function runCleanupCommand(output: Output, dryRun: boolean): Promise<number> {
  const config = loadConfig(process.env);
  const { createApp } = await loadApp();
  // Commands other than serve keep stdout for their result.
  const app = await createApp(config, { logger: createLogger(config.logLevel, process.stderr) });
  try {
    const labels: Record<CleanupProgress["phase"], string> = {
      "expired-sessions": "expired sessions",
      "excess-sessions": "excess sessions",
      "idle-repos": "idle repositories",
    };
    const report = await app.cleanup({
      dryRun,
      onProgress: ({ phase, done }) => output.progress(`${dryRun ? "Counting" : "Removing"} ${labels[phase]}: ${done}`),
    });
    const verb = dryRun ? "Would remove" : "Removed";
    output.result(
      `${verb} ${report.expiredSessions} expired sessions, ${report.excessSessions} excess sessions and ${report.idleRepos} idle repositories.`,
      report,
    );
    return 0;
  } finally {
    await app.close();
  }
}

async function runReindex(output: Output): Promise<number> {
  const config = loadConfig(process.env);
  const { reindexApp } = await loadApp();
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const report = await reindexApp(config, {
    signal: controller.signal,
    onProgress: ({ done, total, phase }) =>
      output.progress(
        phase === "indexing"
          ? `Finishing the vector index over ${done} messages (a rebuild takes ~1-3 ms a vector and cannot be interrupted)…`
          : `Re-embedding messages: ${done}/${total}`,
      ),
  });
  if (!report.complete) {
    output.result(`Interrupted after ${report.messages} messages; run session-bridge reindex again to resume.`, report);
    return 130;
  }
  output.result(
    `Re-embedded ${report.messages} of ${report.total} messages with ${report.embedderId}; recall now uses ${report.indexName}.`,
    report,
  );
  return 0;
}

async function runUsers(output: Output, args: string[]): Promise<number> {
  const [subcommand, argument, extra] = args;
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
  const config = loadConfig(process.env);
  const { withStorage } = await loadApp();
  const withUserStore = <T>(work: (users: UserStore) => Promise<T>) =>
    withStorage(config, (storage) => work(storage.users));
  switch (subcommand) {
    case "create": {
      if (!argument) throw new UsageError("users create needs a name");
      const { user, apiKey } = await withUserStore((users) => users.create(argument));
      output.result(`Created user ${user.name} (${user.id}). API key, shown only now: ${apiKey}`, {
        id: user.id,
        name: user.name,
        apiKey,
      });
      return 0;
    }
    case "list": {
      if (argument) throw new UsageError(`unexpected argument "${argument}"`);
      const users = await withUserStore((store) => store.list());
      const lines = users.map((user) => `${user.id}  ${user.name}${user.revokedAt ? "  (revoked)" : ""}`);
      output.result(lines.length > 0 ? lines.join("\n") : "No users.", { users });
      return 0;
    }
    case "revoke": {
      if (!argument) throw new UsageError("users revoke needs a user id");
      const revoked = await withUserStore((users) => users.revoke(argument));
      if (!revoked) throw new Error(`no active user with id ${argument}`);
      output.result(`Revoked user ${argument}; their tokens no longer work.`, { id: argument, revoked: true });
      return 0;
    }
    default:
      throw new UsageError("users takes create <name>, list or revoke <id>");
  }
}

async function runTransfer(
  output: Output,
  command: "export" | "import",
  args: string[],
  out: string | undefined,
): Promise<number> {
  const [argument, extra] = args;
  if (!argument) throw new UsageError(command === "export" ? "export needs a user id" : "import needs a file");
  if (extra !== undefined) throw new UsageError(`unexpected argument "${extra}"`);
  const { runExportCommand, runImportCommand } = await import("./transfer-commands.ts");
  return command === "export"
    ? runExportCommand({ json: output.json, userId: argument, ...(out ? { out } : {}) })
    : runImportCommand(output, argument);
}

function describe(error: unknown): string {
  if (error instanceof ConfigError || error instanceof UsageError || AppError.isInstance(error)) return error.message;
  if (error instanceof Error) return error.message.split("\n")[0] ?? error.name;
  return String(error);
}
