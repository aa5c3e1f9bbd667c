// npm run bench -- memory [--sizes 1000,10000,100000] [--runs 100] [--index-texts 10000]
//
// The memory bridge's per-turn work (recall before the model, save after it)
// beside Mastra Memory called directly, on the same database, embedder and
// stored messages, in the same run; embedding throughput; recall@4 on the
// labelled sets in bench/data/; and libSQL's vector index with its default
// settings beside the bridge's, over real embeddings.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import type { MastraDBMessage } from "@mastra/core/agent/message-list";
import { type App, createApp, type Embedder, loadConfig } from "@session-bridge/server";
import type { ChatMessage } from "@session-bridge/shared";
import pino from "pino";
import { v7 as uuidv7 } from "uuid";
import { loadUseLiteEmbedder } from "../packages/server/src/memory/embedders/use-lite.ts";
import { createMemoryBridge, type MemoryBridge } from "../packages/server/src/memory/memory-bridge.ts";
import { annSettings } from "../packages/server/src/storage/libsql/vector-store.ts";
import { makeTexts, populateMessages } from "./fixtures.ts";
import { mastraPeer } from "./mastra-peer.ts";
import {
  formatMarkdown,
  formatTable,
  machine,
  measure,
  type Timing,
  timingOf,
  updateReadme,
  writeResults,
} from "./measure.ts";
import { measureIndexSettings } from "./vector-index.ts";

const resourceId = "bench-user";
const messagesPerSession = 100;
const poolSize = 2000;

export async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { sizes: { type: "string" }, runs: { type: "string" }, "index-texts": { type: "string" } },
  });
  // `--sizes ""` measures only embedding throughput and recall quality.
  const sizes = (values.sizes ?? "1000,10000,100000")
    .split(",")
    .map(Number)
    .filter((size) => size > 0);
  const runs = Number(values.runs ?? 100);
  // Generated texts stored beside the labelled sets' messages for the index table; 0 leaves it out.
  const indexTexts = Number(values["index-texts"] ?? 10_000);
  const embedder = await loadUseLiteEmbedder();

  process.stderr.write(`embedding a pool of ${poolSize} texts…\n`);
  const pool = makeTexts(poolSize, 1);
  const poolStart = performance.now();
  const throughput = await measureThroughput(embedder, pool);
  const poolVectors = await embedder.embed(pool);
  process.stderr.write(`embedded in ${((performance.now() - poolStart) / 1000).toFixed(1)} s\n`);

  const latencyRows: { size: number; operation: string; bridge: Timing; mastra: Timing }[] = [];
  const seeding: { size: number; seconds: number }[] = [];
  for (const size of sizes) {
    const { rows, seedSeconds } = await benchmarkSize(embedder, size, runs, pool, poolVectors);
    latencyRows.push(...rows);
    seeding.push({ size, seconds: seedSeconds });
  }
  const quality = await recallQuality(embedder);
  const indexRows = indexTexts > 0 ? await measureIndexSettings(embedder, indexTexts) : [];

  const latencyHeaders = ["messages", "operation", "bridge p50 ms", "bridge p95 ms", "Mastra p50 ms", "Mastra p95 ms"];
  const latencyTable = latencyRows.map((row) => [
    row.size.toLocaleString("en-US"),
    row.operation,
    ms(row.bridge.p50),
    ms(row.bridge.p95),
    Number.isNaN(row.mastra.p50) ? "—" : ms(row.mastra.p50),
    Number.isNaN(row.mastra.p95) ? "—" : ms(row.mastra.p95),
  ]);
  const throughputHeaders = ["embedder", "batch", "texts/s", "ms per call p50"];
  const throughputTable = throughput.map((row) => [embedder.id, row.batch, row.perSecond.toFixed(0), ms(row.call.p50)]);
  const qualityHeaders = [
    "set",
    "pairs",
    "bridge recall@4",
    "bridge recall@1",
    "vector only recall@4",
    "vector only recall@1",
    "ceiling recall@4",
    "ceiling recall@1",
  ];
  const qualityTable = quality.map((row) => [
    row.set,
    row.pairs,
    row.bridge.at4.toFixed(3),
    row.bridge.at1.toFixed(3),
    row.vectorOnly.at4.toFixed(3),
    row.vectorOnly.at1.toFixed(3),
    row.ceiling.at4.toFixed(3),
    row.ceiling.at1.toFixed(3),
  ]);

  process.stdout.write(
    `\n${formatTable(latencyHeaders, latencyTable)}\n\n${formatTable(throughputHeaders, throughputTable)}\n\n`,
  );
  const indexHeaders = [
    "vector index settings",
    "vectors",
    "insert ms (100 a transaction)",
    "insert ms p50 (one)",
    "search ms p50 (100 candidates)",
    "exact top 4 found",
    "file MB",
  ];
  const indexTable = indexRows.map((row) => [
    row.settings,
    row.vectors.toLocaleString("en-US"),
    row.bulkInsertMs.toFixed(1),
    ms(row.insert.p50),
    ms(row.search.p50),
    row.exactTop4Found.toFixed(3),
    row.fileMegabytes.toFixed(0),
  ]);
  process.stdout.write(`${formatTable(qualityHeaders, qualityTable)}\n`);
  if (indexRows.length > 0) process.stdout.write(`\n${formatTable(indexHeaders, indexTable)}\n`);
  const file = await writeResults("memory", {
    benchmark: "memory",
    runs,
    machine: await machine(),
    latency: latencyRows,
    seeding,
    throughput,
    quality,
    indexSettings: indexRows,
  });
  await updateReadme(
    "memory",
    [
      formatMarkdown(latencyHeaders, latencyTable),
      formatMarkdown(throughputHeaders, throughputTable),
      formatMarkdown(qualityHeaders, qualityTable),
      ...(indexRows.length > 0 ? [formatMarkdown(indexHeaders, indexTable)] : []),
      `_${runs} turns per cell${seeding.length > 0 ? ` (seeding both tables: ${seeding.map((entry) => `${entry.size.toLocaleString("en-US")} in ${entry.seconds.toFixed(0)} s`).join(", ")})` : ""}; ${new Date().toISOString().slice(0, 10)}, Node ${process.version}._`,
    ].join("\n\n"),
  );
  process.stdout.write(`\nwrote ${path.relative(process.cwd(), file)} and bench/README.md\n`);
}

const ms = (microseconds: number) => (microseconds / 1000).toFixed(1);

async function makeApp(embedder: Embedder): Promise<{ app: App; directory: string }> {
  const directory = await mkdtemp(path.join(tmpdir(), "session-bridge-bench-"));
  const config = loadConfig({ DATA_DIR: directory, LOG_LEVEL: "silent" });
  const app = await createApp(config, { embedder, logger: pino({ level: "silent" }) });
  return { app, directory };
}

async function benchmarkSize(
  embedder: Embedder,
  size: number,
  runs: number,
  pool: string[],
  poolVectors: number[][],
): Promise<{ rows: { size: number; operation: string; bridge: Timing; mastra: Timing }[]; seedSeconds: number }> {
  const { app, directory } = await makeApp(embedder);
  try {
    const seedStart = performance.now();
    const sessionIds = await populateMessages(app, {
      resourceId,
      size,
      perSession: messagesPerSession,
      pool,
      poolVectors,
      // The same index settings as the bridge's table: the rows compare the two code paths over
      // the same kind of index (the turn benchmark runs Mastra's as shipped).
      mastraIndexSettings: annSettings(512),
      bulk: true,
    });
    const seedSeconds = (performance.now() - seedStart) / 1000;
    process.stderr.write(`seeded ${size.toLocaleString("en-US")} messages in ${seedSeconds.toFixed(0)} s\n`);
    const bridge = app.memory;
    const { memory: mastra } = await mastraPeer(app);
    const queries = makeTexts(runs * 4 + 40, 7);
    let next = 0;
    const turn = () => {
      const text = queries[next++ % queries.length] as string;
      const sessionId = sessionIds[next % sessionIds.length] as string;
      return { text, sessionId, answer: `Answer to: ${text}` };
    };

    // Each measured turn is a recall, then a save of that turn's two messages, as a real turn does.
    const bridgeRecall: number[] = [];
    const bridgeSave: number[] = [];
    const bridgeDeferred: number[] = [];
    const mastraRecall: number[] = [];
    const mastraSave: number[] = [];
    const time = async (samples: number[], work: () => Promise<unknown>) => {
      const start = process.hrtime.bigint();
      await work();
      samples.push(Number(process.hrtime.bigint() - start) / 1000);
    };
    for (let index = 0; index < runs + 10; index++) {
      const warm = index < 10;
      const sink = (samples: number[]) => (warm ? [] : samples);
      {
        const { text, sessionId, answer } = turn();
        await time(sink(bridgeRecall), () => bridge.recall({ sessionId, resourceId, query: text }));
        await time(sink(bridgeSave), () =>
          bridge.save({ sessionId, resourceId, messages: [uiMessage("user", text), uiMessage("assistant", answer)] }),
        );
      }
      {
        const { text, sessionId, answer } = turn();
        await bridge.recall({ sessionId, resourceId, query: text });
        await time(sink(bridgeDeferred), () =>
          bridge.save({
            sessionId,
            resourceId,
            messages: [uiMessage("user", text), uiMessage("assistant", answer)],
            index: "later",
          }),
        );
        await bridge.indexPending();
      }
      {
        const { text, sessionId, answer } = turn();
        await time(sink(mastraRecall), () =>
          mastra.recall({ threadId: sessionId, resourceId, vectorSearchString: text }),
        );
        await time(sink(mastraSave), () =>
          mastra.saveMessages({
            messages: [dbMessage("user", text, sessionId), dbMessage("assistant", answer, sessionId)],
          }),
        );
      }
    }
    const none = { p50: Number.NaN, p95: Number.NaN, mean: Number.NaN, runs: 0 };
    const rows = [
      {
        size,
        operation: "recall (embed query + search + history)",
        bridge: timingOf(bridgeRecall),
        mastra: timingOf(mastraRecall),
      },
      {
        size,
        operation: "save turn (user + answer, vectors written)",
        bridge: timingOf(bridgeSave),
        mastra: timingOf(mastraSave),
      },
      { size, operation: "save turn, answer embedded after finish", bridge: timingOf(bridgeDeferred), mastra: none },
    ];
    return { rows, seedSeconds };
  } finally {
    await app.close();
    await rm(directory, { recursive: true, force: true });
  }
}

async function measureThroughput(embedder: Embedder, texts: string[]) {
  const rows = [];
  for (const batch of [1, 32]) {
    const call = await measure(40, 5, (index) =>
      embedder.embed(
        Array.from({ length: batch }, (_, offset) => texts[(index * batch + offset) % texts.length] as string),
      ),
    );
    rows.push({ batch, call, perSecond: (batch * 1_000_000) / call.p50 });
  }
  return rows;
}

interface Pair {
  id: string;
  message: string;
  question: string;
}

/**
 * recall@k: the share of questions whose paired message is among the top-k semantic hits (user scope),
 * through the bridge; beside it the embedder's own ceiling: every stored text ranked by plain cosine
 * to the question, no filters, no index.
 */
interface RecallFigures {
  at4: number;
  at1: number;
}

interface SetQuality {
  set: string;
  pairs: number;
  /** The bridge as it runs: vector and keyword channels fused. */
  bridge: RecallFigures;
  /** The bridge with its keyword channel off. */
  vectorOnly: RecallFigures;
  /** Plain cosine of the question against every stored text, no filters. */
  ceiling: RecallFigures;
}

/**
 * Recall@4 and @1 on each labelled set, all sets' messages stored together
 * (each pair's message in a session of ten; each question asked from a new
 * session), through the bridge with and without its keyword channel, beside
 * the embedder's own ceiling over the same stored texts.
 */
async function recallQuality(embedder: Embedder): Promise<SetQuality[]> {
  const sets: { set: string; pairs: Pair[] }[] = [];
  for (const [set, file] of [
    ["paraphrases", "recall-pairs.json"],
    ["keywords", "keyword-pairs.json"],
  ] as const) {
    sets.push({ set, pairs: JSON.parse(await readFile(new URL(`./data/${file}`, import.meta.url), "utf8")) as Pair[] });
  }
  const everyPair = sets.flatMap((entry) => entry.pairs);
  const { app, directory } = await makeApp(embedder);
  try {
    const ids = new Map<string, string>();
    for (let offset = 0; offset < everyPair.length; offset += 10) {
      const session = await app.sessions.create(resourceId);
      const messages = everyPair.slice(offset, offset + 10).map((pair) => {
        const message = uiMessage("user", pair.message);
        ids.set(pair.id, message.id);
        return message;
      });
      await app.memory.save({ sessionId: session.id, resourceId, messages });
    }
    const vectorOnly = await createMemoryBridge({
      messages: app.memoryStorage.messages,
      vectors: app.memoryStorage.vectors,
      embedder: app.embedder,
      memories: app.memories,
      clock: app.clock,
      logger: app.logger,
      keywordChannel: false,
    });
    const asker = await app.sessions.create(resourceId);
    const figures = async (bridge: MemoryBridge, pairs: Pair[]): Promise<RecallFigures> => {
      let at4 = 0;
      let at1 = 0;
      for (const pair of pairs) {
        const recall = await bridge.recall({ sessionId: asker.id, resourceId, query: pair.question });
        const hits = recall.recalled.filter((item) => item.foundBy.length > 0).sort((a, b) => b.score - a.score);
        if (hits.some((item) => item.message.id === ids.get(pair.id))) at4 += 1;
        if (hits[0]?.message.id === ids.get(pair.id)) at1 += 1;
      }
      return { at4: at4 / pairs.length, at1: at1 / pairs.length };
    };
    const quality: SetQuality[] = [];
    for (const { set, pairs } of sets) {
      quality.push({
        set,
        pairs: pairs.length,
        bridge: await figures(app.memory, pairs),
        vectorOnly: await figures(vectorOnly, pairs),
        ceiling: await cosineCeiling(embedder, pairs, everyPair),
      });
    }
    return quality;
  } finally {
    await app.close();
    await rm(directory, { recursive: true, force: true });
  }
}

/** recall@4 and @1 of plain cosine over every stored message: what the embedder itself allows. */
async function cosineCeiling(embedder: Embedder, asked: Pair[], stored: Pair[]): Promise<RecallFigures> {
  // Unit vectors once, so that cosine is a dot product.
  const unit = (vector: number[]) => {
    const length = Math.hypot(...vector) || 1;
    return vector.map((value) => value / length);
  };
  const texts = (await embedder.embed(stored.map((pair) => pair.message))).map(unit);
  const questions = (await embedder.embed(asked.map((pair) => pair.question))).map(unit);
  const cosine = (a: number[], b: number[]) => a.reduce((sum, value, index) => sum + value * (b[index] ?? 0), 0);
  let at4 = 0;
  let at1 = 0;
  questions.forEach((question, index) => {
    const answer = stored.findIndex((pair) => pair.id === asked[index]?.id);
    const ranked = texts
      .map((vector, position) => ({ position, score: cosine(question, vector) }))
      .sort((a, b) => b.score - a.score);
    if (ranked.slice(0, 4).some((entry) => entry.position === answer)) at4 += 1;
    if (ranked[0]?.position === answer) at1 += 1;
  });
  return { at4: at4 / asked.length, at1: at1 / asked.length };
}

function uiMessage(role: "user" | "assistant", text: string): ChatMessage {
  return { id: uuidv7(), role, parts: [{ type: "text", text }] };
}

function dbMessage(role: "user" | "assistant", text: string, threadId: string): MastraDBMessage {
  return {
    id: uuidv7(),
    role,
    threadId,
    resourceId,
    createdAt: new Date(),
    content: { format: 2, parts: [{ type: "text", text }] },
  };
}
