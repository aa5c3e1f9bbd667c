import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

export interface Timing {
  p50: number;
  p95: number;
  mean: number;
  runs: number;
}

/** Microsecond percentiles of `operation`, run `runs` times after `warmup` unmeasured runs. */
export async function measure(
  runs: number,
  warmup: number,
  operation: (index: number) => Promise<unknown>,
): Promise<Timing> {
  for (let index = 0; index < warmup; index++) await operation(index);
  const samples = new Float64Array(runs);
  for (let index = 0; index < runs; index++) {
    const start = process.hrtime.bigint();
    await operation(warmup + index);
    samples[index] = Number(process.hrtime.bigint() - start) / 1000;
  }
  return timingOf(Array.from(samples));
}

/** Percentiles and mean of raw samples (in whatever unit they were taken). */
export function timingOf(samples: number[]): Timing {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (quantile: number) =>
    sorted[Math.min(sorted.length - 1, Math.floor(quantile * sorted.length))] ?? Number.NaN;
  return {
    p50: at(0.5),
    p95: at(0.95),
    mean: sorted.reduce((sum, value) => sum + value, 0) / sorted.length,
    runs: sorted.length,
  };
}

/** A fixed-width text table. */
export function formatTable(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((row) => row.map(String))];
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => (row[column] ?? "").length)));
  const line = (row: string[]) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join("  ");
  return [line(headers), widths.map((width) => "-".repeat(width)).join("  "), ...cells.slice(1).map(line)].join("\n");
}

/** The same table in Markdown, for bench/README.md. */
export function formatMarkdown(headers: string[], rows: (string | number)[][]): string {
  return [
    `| ${headers.join(" | ")} |`,
    `|${headers.map(() => "---").join("|")}|`,
    ...rows.map((row) => `| ${row.join(" | ")} |`),
  ].join("\n");
}

const benchDir = path.dirname(fileURLToPath(import.meta.url));

/** Writes the run's JSON under bench/results/ and returns its path. */
export async function writeResults(name: string, results: unknown): Promise<string> {
  const directory = path.join(benchDir, "results");
  await mkdir(directory, { recursive: true });
  const file = path.join(directory, `${name}-${new Date().toISOString().replace(/[:.]/g, "-")}.json`);
  await writeFile(file, `${JSON.stringify(results, null, 2)}\n`);
  return file;
}

/** Replaces the section between `<!-- bench:name -->` and `<!-- /bench:name -->` in bench/README.md. */
export async function updateReadme(name: string, markdown: string): Promise<void> {
  const file = path.join(benchDir, "README.md");
  const readme = await readFile(file, "utf8");
  const start = `<!-- bench:${name} -->`;
  const end = `<!-- /bench:${name} -->`;
  const from = readme.indexOf(start);
  const to = readme.indexOf(end);
  if (from === -1 || to === -1) throw new Error(`bench/README.md has no ${start} … ${end} section`);
  await writeFile(file, `${readme.slice(0, from + start.length)}\n${markdown}\n${readme.slice(to)}`);
}

/** Describes the machine a result was measured on. */
export async function machine(): Promise<Record<string, unknown>> {
  const os = await import("node:os");
  return { node: process.version, cpus: os.cpus().length, cpu: os.cpus()[0]?.model, platform: process.platform };
}
