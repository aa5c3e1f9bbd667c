import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { access, rename, rm } from "node:fs/promises";
import type { Writable } from "node:stream";
import { createApp } from "../app.ts";
import { loadConfig } from "../config/config.ts";
import { createLogger } from "../logger.ts";
import { exportUser } from "../transfer/export-user.ts";
import type { ImportCounts } from "../transfer/import-user.ts";
import { importUser } from "../transfer/import-user.ts";
import { planImport } from "../transfer/plan-import.ts";
import { createOutput, type Output } from "./output.ts";

/**
 * `session-bridge export <userId> [--out file.jsonl]`. Without `--out` the
 * JSON lines go to stdout, and progress and the summary to stderr. A file is
 * written under a temporary name and renamed at the end, so it is never half.
 */
export async function runExportCommand(options: { json: boolean; userId: string; out?: string }): Promise<number> {
  // Without --out, stdout carries the export: the summary goes to stderr too.
  const output = options.out
    ? createOutput(options.json)
    : createOutput(options.json, process.stderr as unknown as typeof process.stdout, process.stderr);
  const config = loadConfig(process.env);
  // Commands other than serve keep stdout for their result.
  const app = await createApp(config, { logger: createLogger(config.logLevel, process.stderr) });
  const partial = options.out ? `${options.out}.partial` : undefined;
  const stream = partial ? createWriteStream(partial) : process.stdout;
  try {
    const report = await exportUser(app, options.userId, {
      write: (line) => writeLine(stream, line),
      onProgress: ({ sessions, total }) => output.progress(`Exporting sessions: ${sessions}/${total}`),
    });
    if (partial && options.out) {
      await closeStream(stream);
      await rename(partial, options.out);
    }
    output.result(
      `Exported ${countsText(report)} of user ${options.userId}${options.out ? ` to ${options.out}` : ""}.`,
      { ...report, out: options.out ?? null },
    );
    return 0;
  } catch (error) {
    if (partial) {
      stream.destroy();
      await rm(partial, { force: true });
    }
    throw error;
  } finally {
    await app.close();
  }
}

/** `session-bridge import <file.jsonl>`. */
export async function runImportCommand(output: Output, file: string): Promise<number> {
  await access(file).catch((error: Error) => {
    throw new Error(`cannot read ${file}: ${error.message.split(",")[0]}`);
  });
  const config = loadConfig(process.env);
  // The whole file is checked before the databases are even opened.
  const plan = await planImport(file, (line) => output.progress(`Checking line ${line}`));
  const app = await createApp(config, { logger: createLogger(config.logLevel, process.stderr) });
  try {
    const report = await importUser(app, plan, {
      onProgress: (progress) => {
        if (progress.phase === "writing") output.progress(`Importing records: ${progress.done}/${progress.total}`);
        if (progress.phase === "embedding") output.progress(`Embedding messages: ${progress.done}/${progress.total}`);
      },
    });
    const kept = Object.values(report.kept).reduce((sum, value) => sum + value, 0);
    const lines = [
      `Imported ${countsText(report.imported)} for user ${report.userName} (${report.userId})` +
        `${kept > 0 ? `; kept ${count(kept, "record")} already here` : ""}; embedded ${count(report.embedded, "message")} for recall.`,
    ];
    if (report.apiKey) {
      lines.push(`Created user ${report.userName} (${report.userId}). API key, shown only now: ${report.apiKey}`);
    }
    output.result(lines.join("\n"), report);
    return 0;
  } finally {
    await app.close();
  }
}

const count = (value: number, singular: string, plural = `${singular}s`) =>
  `${value} ${value === 1 ? singular : plural}`;

function countsText(counts: ImportCounts): string {
  return (
    `${count(counts.sessions, "session")}, ${count(counts.messages, "message")}, ` +
    `${count(counts.memories, "memory", "memories")} and ${count(counts.toolSessions, "tool session")}`
  );
}

async function writeLine(stream: Writable, line: string): Promise<void> {
  if (!stream.write(line)) await once(stream, "drain");
}

async function closeStream(stream: Writable): Promise<void> {
  stream.end();
  await once(stream, "finish");
}
