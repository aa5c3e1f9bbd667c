// The DiskANN settings of libSQL's vector index, measured on real embeddings:
// libSQL's defaults (what Mastra's LibSQLVector makes) beside the settings the
// bridge makes its indexes with, over the same texts, each in a fresh file.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { createClient } from "@libsql/client";
import type { Embedder } from "@session-bridge/server";
import { annSettings } from "../packages/server/src/storage/libsql/vector-store.ts";
import { makeTexts } from "./fixtures.ts";
import { type Timing, timingOf } from "./measure.ts";

export interface IndexSettingsRow {
  settings: string;
  vectors: number;
  /** Per vector, written 100 to a transaction. */
  bulkInsertMs: number;
  /** One vector per transaction, as a turn writes its answer's. */
  insert: Timing;
  /** The index asked for 100 candidates, the best 4 of them by exact cosine. */
  search: Timing;
  /** Of the exact top 4, the share among the index's best 4. */
  exactTop4Found: number;
  fileMegabytes: number;
}

type Pair = { message: string; question: string };

/**
 * Each labelled set's messages and `distractors` generated texts, embedded once,
 * written into an index made with libSQL's defaults and into one with the
 * bridge's settings; each set's questions searched in both.
 */
export async function measureIndexSettings(embedder: Embedder, distractors: number): Promise<IndexSettingsRow[]> {
  const pairs: Pair[] = [];
  for (const file of ["recall-pairs.json", "keyword-pairs.json"]) {
    pairs.push(...(JSON.parse(await readFile(new URL(`./data/${file}`, import.meta.url), "utf8")) as Pair[]));
  }
  const texts = [...pairs.map((pair) => pair.message), ...makeTexts(distractors, 7)];
  process.stderr.write(`index settings: embedding ${texts.length.toLocaleString("en-US")} texts…\n`);
  const vectors: number[][] = [];
  for (let offset = 0; offset < texts.length; offset += 64) {
    vectors.push(...(await embedder.embed(texts.slice(offset, offset + 64))));
  }
  const questions = await embedder.embed(pairs.map((pair) => pair.question));
  const rows: IndexSettingsRow[] = [];
  for (const [name, settings] of [
    ["libSQL defaults (Mastra's LibSQLVector)", []],
    [`Session Bridge (${annSettings(embedder.dimension).join(", ")})`, annSettings(embedder.dimension)],
  ] as const) {
    process.stderr.write(`index settings: ${name}…\n`);
    rows.push(await measureOne(name, settings, embedder.dimension, vectors, questions));
  }
  return rows;
}

async function measureOne(
  name: string,
  settings: readonly string[],
  dimension: number,
  vectors: number[][],
  questions: number[][],
): Promise<IndexSettingsRow> {
  const directory = await mkdtemp(path.join(tmpdir(), "session-bridge-bench-index-"));
  const client = createClient({ url: `file:${path.join(directory, "index.db")}` });
  try {
    // As the memory database runs: WAL, every commit synced.
    await client.execute("PRAGMA journal_mode = WAL");
    await client.execute("PRAGMA synchronous = FULL");
    await client.execute(`CREATE TABLE v (id INTEGER PRIMARY KEY, embedding F32_BLOB(${dimension}))`);
    const options = settings.map((setting) => `, '${setting}'`).join("");
    await client.execute(`CREATE INDEX v_idx ON v (libsql_vector_idx(embedding${options}))`);
    const insert = (id: number, vector: number[]) => ({
      sql: "INSERT INTO v (id, embedding) VALUES (?, vector32(?))",
      args: [id, JSON.stringify(vector)],
    });
    // The labelled messages last, as the newest.
    const order = [...vectors.keys()].reverse();
    const bulkStart = performance.now();
    for (let offset = 0; offset < order.length; offset += 100) {
      await client.batch(
        order.slice(offset, offset + 100).map((position) => insert(position + 1, vectors[position] as number[])),
        "write",
      );
    }
    const bulkInsertMs = (performance.now() - bulkStart) / order.length;
    const singles: number[] = [];
    for (let index = 0; index < 40; index++) {
      const started = performance.now();
      await client.execute(insert(1_000_000 + index, vectors[index] as number[]));
      singles.push((performance.now() - started) * 1000);
    }
    const searches: number[] = [];
    let found = 0;
    for (const question of questions) {
      const text = JSON.stringify(question);
      const started = performance.now();
      const approximate = await client.execute({
        sql: "SELECT v.id FROM vector_top_k('v_idx', vector32(?), 100) AS k JOIN v ON v.rowid = k.id ORDER BY vector_distance_cos(v.embedding, vector32(?)) LIMIT 4",
        args: [text, text],
      });
      searches.push((performance.now() - started) * 1000);
      const exact = await client.execute({
        sql: "SELECT id FROM v ORDER BY vector_distance_cos(embedding, vector32(?)) LIMIT 4",
        args: [text],
      });
      const ids = new Set(approximate.rows.map((row) => Number(row.id)));
      found += exact.rows.filter((row) => ids.has(Number(row.id))).length;
    }
    const [size] = (
      await client.execute("SELECT page_count * page_size AS bytes FROM pragma_page_count(), pragma_page_size()")
    ).rows;
    return {
      settings: name,
      vectors: order.length,
      bulkInsertMs,
      insert: timingOf(singles),
      search: timingOf(searches),
      exactTop4Found: found / (questions.length * 4),
      fileMegabytes: Number(size?.bytes ?? 0) / 1e6,
    };
  } finally {
    client.close();
    await rm(directory, { recursive: true, force: true });
  }
}
