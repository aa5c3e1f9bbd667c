// npm run bench -- store [--sizes 10000,100000] [--runs 2000]
//
// The session store's hot operations beside the same SQL statement sent
// directly through @libsql/client (the floor), at several table sizes, in the
// same run and interleaved so that both see the same machine state.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import type { InValue } from "@libsql/client";
import { v7 as uuidv7 } from "uuid";
import { openDatabase } from "../packages/server/src/storage/libsql/client.ts";
import { migrateDatabase } from "../packages/server/src/storage/libsql/migrate.ts";
import { createSessionStore } from "../packages/server/src/storage/libsql/session-store.ts";
import { createToolSessionStore } from "../packages/server/src/storage/libsql/tool-session-store.ts";
import { formatMarkdown, formatTable, machine, measure, type Timing, updateReadme, writeResults } from "./measure.ts";

interface Row {
  size: number;
  operation: string;
  store: Timing;
  floor: Timing;
}

const sessionsPerResource = 100;

export async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { sizes: { type: "string" }, runs: { type: "string" } } });
  const sizes = (values.sizes ?? "10000,100000").split(",").map(Number);
  const runs = Number(values.runs ?? 2000);
  const rows: Row[] = [];
  for (const size of sizes) rows.push(...(await benchmarkSize(size, runs)));

  const headers = [
    "sessions",
    "operation",
    "store p50 µs",
    "store p95 µs",
    "floor p50 µs",
    "floor p95 µs",
    "p50 ratio",
  ];
  const table = rows.map((row) => [
    row.size.toLocaleString("en-US"),
    row.operation,
    row.store.p50.toFixed(1),
    row.store.p95.toFixed(1),
    row.floor.p50.toFixed(1),
    row.floor.p95.toFixed(1),
    `${(row.store.p50 / row.floor.p50).toFixed(2)}x`,
  ]);
  process.stdout.write(`\n${formatTable(headers, table)}\n`);
  const file = await writeResults("store", { benchmark: "store", runs, machine: await machine(), rows });
  await updateReadme(
    "store",
    `${formatMarkdown(headers, table)}\n\n_${runs} runs per cell after warm-up; ${new Date().toISOString().slice(0, 10)}, Node ${process.version}._`,
  );
  process.stdout.write(`\nwrote ${path.relative(process.cwd(), file)} and bench/README.md\n`);
}

async function benchmarkSize(size: number, runs: number): Promise<Row[]> {
  const directory = await mkdtemp(path.join(tmpdir(), "session-bridge-bench-"));
  const database = await openDatabase({ url: `file:${path.join(directory, "app.db")}` });
  try {
    await migrateDatabase(database.db);
    process.stderr.write(`populating ${size.toLocaleString("en-US")} sessions…\n`);
    const existing = await populate(database.client, size);
    const clock = { now: () => new Date() };
    const generateId = () => uuidv7();
    const sessions = createSessionStore({ db: database.db, reader: database.reader, clock, generateId });
    const toolSessions = createToolSessionStore({ db: database.db, clock, generateId });
    const client = database.client;
    const pick = (index: number) => existing[(index * 7919) % existing.length] as { id: string; resourceId: string };
    const raw = (sql: string, args: InValue[]) => client.execute({ sql, args });
    const upsertSql =
      "INSERT INTO tool_sessions (tool_session_id, session_id, tool_name, tool_key, created_at, last_accessed) VALUES (?, ?, ?, ?, ?, ?) " +
      "ON CONFLICT (session_id, tool_name, tool_key_norm) DO UPDATE SET last_accessed = excluded.last_accessed " +
      "RETURNING tool_session_id, session_id, tool_name, tool_key, state, state_version, created_at, last_accessed";

    const operations: [string, (index: number) => Promise<unknown>, (index: number) => Promise<unknown>][] = [
      [
        "create session",
        (index) => sessions.create(`bench-new-${index % 50}`),
        (index) =>
          raw(
            "INSERT INTO sessions (id, resource_id, title, created_at, last_accessed) VALUES (?, ?, ?, ?, ?) RETURNING id, resource_id, title, created_at, last_accessed",
            [uuidv7(), `bench-new-${index % 50}`, null, Date.now(), Date.now()],
          ),
      ],
      [
        "get session",
        (index) => sessions.get(pick(index).resourceId, pick(index).id),
        (index) =>
          raw(
            "SELECT id, resource_id, title, created_at, last_accessed FROM sessions WHERE id = ? AND resource_id = ?",
            [pick(index).id, pick(index).resourceId],
          ),
      ],
      [
        "get-or-create tool session (hit)",
        (index) => toolSessions.getOrCreate(pick(index % 500).id, "sequentialThinking", null),
        (index) => raw(upsertSql, [uuidv7(), pick(index % 500).id, "sequentialThinking", null, Date.now(), Date.now()]),
      ],
      [
        "get-or-create tool session (miss)",
        (index) => toolSessions.getOrCreate(pick(index).id, "search_docs", `store-${index}`),
        (index) => raw(upsertSql, [uuidv7(), pick(index).id, "search_docs", `floor-${index}`, Date.now(), Date.now()]),
      ],
    ];
    // Hits need their rows to exist first.
    for (let index = 0; index < 500; index++)
      await toolSessions.getOrCreate(pick(index).id, "sequentialThinking", null);

    const rows: Row[] = [];
    for (const [operation, viaStore, viaClient] of operations) {
      // Alternate blocks of the two so that neither gets a warmer cache or a quieter machine.
      const blocks = 4;
      const perBlock = Math.ceil(runs / blocks);
      const storeTimings: Timing[] = [];
      const floorTimings: Timing[] = [];
      for (let block = 0; block < blocks; block++) {
        const offset = block * perBlock;
        storeTimings.push(await measure(perBlock, block === 0 ? 200 : 0, (index) => viaStore(offset + index)));
        floorTimings.push(await measure(perBlock, block === 0 ? 200 : 0, (index) => viaClient(offset + index)));
      }
      rows.push({ size, operation, store: combine(storeTimings), floor: combine(floorTimings) });
      process.stderr.write(`  ${operation}: done\n`);
    }
    return rows;
  } finally {
    database.close();
    await rm(directory, { recursive: true, force: true });
  }
}

/** Medians of per-block percentiles: robust to one noisy block. */
function combine(timings: Timing[]): Timing {
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
  return {
    p50: median(timings.map((timing) => timing.p50)),
    p95: median(timings.map((timing) => timing.p95)),
    mean: timings.reduce((sum, timing) => sum + timing.mean, 0) / timings.length,
    runs: timings.reduce((sum, timing) => sum + timing.runs, 0),
  };
}

async function populate(
  client: Awaited<ReturnType<typeof openDatabase>>["client"],
  size: number,
): Promise<{ id: string; resourceId: string }[]> {
  const existing: { id: string; resourceId: string }[] = [];
  const batch = 1000;
  const start = Date.now() - size * 1000;
  for (let offset = 0; offset < size; offset += batch) {
    const count = Math.min(batch, size - offset);
    const args: InValue[] = [];
    for (let index = 0; index < count; index++) {
      const number = offset + index;
      const session = { id: uuidv7(), resourceId: `user-${Math.floor(number / sessionsPerResource)}` };
      existing.push(session);
      args.push(session.id, session.resourceId, null, start + number * 1000, start + number * 1000);
    }
    await client.execute({
      sql: `INSERT INTO sessions (id, resource_id, title, created_at, last_accessed) VALUES ${Array(count).fill("(?, ?, ?, ?, ?)").join(", ")}`,
      args,
    });
  }
  return existing;
}
