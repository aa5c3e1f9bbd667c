// npm run bench -- memory [--sizes 1000,10000,100000] [--runs 100]
//
// The memory bridge's per-turn work (recall before the model, save after it)
// beside Mastra Memory called directly, on the same database, embedder and
// stored messages, in the same run; embedding throughput; and recall@4 on the
// paraphrase pairs in bench/data/recall-pairs.json.
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

const resourceId = "bench-user";
const messagesPerSession = 100;
const poolSize = 2000;

export async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { sizes: { type: "string" }, runs: { type: "string" } } });
  // `--sizes ""` measures only embedding throughput and recall quality.
  const sizes = (values.sizes ?? "1000,10000,100000")
    .split(",")
    .map(Number)
    .filter((size) => size > 0);
  const runs = Number(values.runs ?? 100);
  const embedder = await loadUseLiteEmbedder();

  process.stderr.write(`embedding a pool of ${poolSize} texts…\n`);
  const pool = makeTexts(poolSize, 1);
  const poolStart = performance.now();
  const throughput = await measureThroughput(embedder, pool);
  const poolVectors = await embedder.embed(pool);
  process.stderr.write(`embedded in ${((performance.now() - poolStart) / 1000).toFixed(1)} s\n`);

  const latencyRows: { size: number; operation: string; bridge: Timing; mastra: Timing }[] = [];
  for (const size of sizes) latencyRows.push(...(await benchmarkSize(embedder, size, runs, pool, poolVectors)));
  const quality = await recallQuality(embedder);

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
    "embedder",
    "pairs",
    "bridge recall@4",
    "bridge recall@1",
    "ceiling recall@4",
    "ceiling recall@1",
  ];
  const qualityTable = [
    [
      embedder.id,
      quality.pairs,
      quality.at4.toFixed(3),
      quality.at1.toFixed(3),
      quality.ceilingAt4.toFixed(3),
      quality.ceilingAt1.toFixed(3),
    ],
  ];

  process.stdout.write(
    `\n${formatTable(latencyHeaders, latencyTable)}\n\n${formatTable(throughputHeaders, throughputTable)}\n\n`,
  );
  process.stdout.write(`${formatTable(qualityHeaders, qualityTable)}\n`);
  const file = await writeResults("memory", {
    benchmark: "memory",
    runs,
    machine: await machine(),
    latency: latencyRows,
    throughput,
    quality,
  });
  await updateReadme(
    "memory",
    [
      formatMarkdown(latencyHeaders, latencyTable),
      formatMarkdown(throughputHeaders, throughputTable),
      formatMarkdown(qualityHeaders, qualityTable),
      `_${runs} turns per cell; ${new Date().toISOString().slice(0, 10)}, Node ${process.version}._`,
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
): Promise<{ size: number; operation: string; bridge: Timing; mastra: Timing }[]> {
  const { app, directory } = await makeApp(embedder);
  try {
    const sessionIds = await populateMessages(app, {
      resourceId,
      size,
      perSession: messagesPerSession,
      pool,
      poolVectors,
    });
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
    return [
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
async function recallQuality(
  embedder: Embedder,
): Promise<{ pairs: number; at4: number; at1: number; ceilingAt4: number; ceilingAt1: number }> {
  const pairs = JSON.parse(await readFile(new URL("./data/recall-pairs.json", import.meta.url), "utf8")) as Pair[];
  const { app, directory } = await makeApp(embedder);
  try {
    const ids = new Map<string, string>();
    for (let offset = 0; offset < pairs.length; offset += 10) {
      const session = await app.sessions.create(resourceId);
      const messages = pairs.slice(offset, offset + 10).map((pair) => {
        const message = uiMessage("user", pair.message);
        ids.set(pair.id, message.id);
        return message;
      });
      await app.memory.save({ sessionId: session.id, resourceId, messages });
    }
    const asker = await app.sessions.create(resourceId);
    let at4 = 0;
    let at1 = 0;
    for (const pair of pairs) {
      const recall = await app.memory.recall({ sessionId: asker.id, resourceId, query: pair.question });
      const hits = recall.recalled.filter((item) => item.hit).sort((a, b) => b.score - a.score);
      if (hits.some((item) => item.message.id === ids.get(pair.id))) at4 += 1;
      if (hits[0]?.message.id === ids.get(pair.id)) at1 += 1;
    }
    const ceiling = await cosineCeiling(embedder, pairs);
    return { pairs: pairs.length, at4: at4 / pairs.length, at1: at1 / pairs.length, ...ceiling };
  } finally {
    await app.close();
    await rm(directory, { recursive: true, force: true });
  }
}

/** recall@4 and @1 of plain cosine over all the pairs' messages: what the embedder itself allows. */
async function cosineCeiling(embedder: Embedder, pairs: Pair[]): Promise<{ ceilingAt4: number; ceilingAt1: number }> {
  // Unit vectors once, so that cosine is a dot product.
  const unit = (vector: number[]) => {
    const length = Math.hypot(...vector) || 1;
    return vector.map((value) => value / length);
  };
  const stored = (await embedder.embed(pairs.map((pair) => pair.message))).map(unit);
  const questions = (await embedder.embed(pairs.map((pair) => pair.question))).map(unit);
  const cosine = (a: number[], b: number[]) => a.reduce((sum, value, index) => sum + value * (b[index] ?? 0), 0);
  let at4 = 0;
  let at1 = 0;
  questions.forEach((question, asked) => {
    const ranked = stored
      .map((vector, index) => ({ index, score: cosine(question, vector) }))
      .sort((a, b) => b.score - a.score);
    if (ranked.slice(0, 4).some((entry) => entry.index === asked)) at4 += 1;
    if (ranked[0]?.index === asked) at1 += 1;
  });
  return { ceilingAt4: at4 / pairs.length, ceilingAt1: at1 / pairs.length };
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
