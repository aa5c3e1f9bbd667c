// npm run bench -- turn [--history 100,10000] [--runs 40] [--concurrency 50,200] [--threads N]
//
// Per-turn overhead of a Session Bridge turn (machine, memory recall and save,
// stream, trace) with a mock model that answers at once, beside the same turn
// through Mastra's own Agent with the same Memory, database, embedder and mock
// model, and Mastra's Agent without Memory (what the model call alone costs).
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { Agent } from "@mastra/core/agent";
import { createApp, loadConfig } from "@session-bridge/server";
import { simulateReadableStream } from "ai";
import { MockLanguageModelV3, MockLanguageModelV4 } from "ai/test";
import pino from "pino";
import { v7 as uuidv7 } from "uuid";
import { mockUsage, textAnswerChunks } from "../fixtures/model-chunks.ts";
import { loadUseLiteEmbedder } from "../packages/server/src/memory/embedders/use-lite.ts";
import { makeTexts, populateMessages, timedTurn } from "./fixtures.ts";
import { mastraPeer } from "./mastra-peer.ts";
import { formatMarkdown, formatTable, machine, type Timing, timingOf, updateReadme, writeResults } from "./measure.ts";
import { embeddingTimer, measureTurnSteps, type StepRow } from "./turn-steps.ts";

const resourceId = "bench-user";
const answerChunks = textAnswerChunks(["A short answer from the mock model."], { id: "t", usage: mockUsage(10, 8) });
const mockV4 = () =>
  new MockLanguageModelV4({ doStream: async () => ({ stream: simulateReadableStream({ chunks: answerChunks }) }) });
// Mastra 1.71 takes AI SDK v3 models; the chunks are the same.
const mockV3 = () =>
  new MockLanguageModelV3({
    doStream: async () => ({ stream: simulateReadableStream({ chunks: answerChunks as never }) }),
  });

interface Row {
  case: string;
  system: string;
  finish: Timing;
  total: Timing;
  throughput?: number;
}

export async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      history: { type: "string" },
      runs: { type: "string" },
      concurrency: { type: "string" },
      threads: { type: "string" },
    },
  });
  const histories = (values.history ?? "100,10000").split(",").map(Number);
  const runs = Number(values.runs ?? 40);
  const concurrencies = (values.concurrency ?? "50,200").split(",").map(Number);
  const embedder = await loadUseLiteEmbedder();
  const pool = makeTexts(1000, 3);
  process.stderr.write("embedding the text pool…\n");
  const poolVectors = await embedder.embed(pool);
  const queries = makeTexts(4000, 11);
  let next = 0;
  const query = () => queries[next++ % queries.length] as string;

  const directory = await mkdtemp(path.join(tmpdir(), "session-bridge-bench-"));
  // The bridge loads its embedder as a server does: the same model, in EMBEDDER_THREADS worker
  // threads (the machine's default unless --threads says otherwise; 0: on the serving thread).
  // Mastra's Memory embeds with the same model on its own thread, as it always does.
  const config = loadConfig({
    DATA_DIR: directory,
    LOG_LEVEL: "silent",
    ...(values.threads === undefined ? {} : { EMBEDDER_THREADS: values.threads }),
  });
  const app = await createApp(config, {
    model: mockV4(),
    logger: pino({ level: "silent" }),
    embedderThreads: config.embedderThreads,
  });
  const rows: Row[] = [];
  let stepRows: StepRow[] = [];
  /**
   * The single turn's goal: to `finish` less the turn's own query embedding (p50), in the
   * single-turn row's turns (between Mastra's) and in the store-call table's (back to back),
   * against the bare model call.
   */
  let beyondEmbedding: { interleaved: number; backToBack: number; bareModelCall: number } | undefined;
  let stepsHistory = 0;
  const { memory: mastraMemory } = await mastraPeer(app, embedder.model);
  try {
    const withMemory = new Agent({
      id: "with-memory",
      name: "with-memory",
      instructions: "Answer briefly.",
      model: mockV3() as never,
      memory: mastraMemory,
    });
    const withoutMemory = new Agent({
      id: "no-memory",
      name: "no-memory",
      instructions: "Answer briefly.",
      model: mockV3() as never,
    });

    for (const history of histories) {
      const [bridgeSession] = await populateMessages(app, {
        resourceId,
        size: history,
        perSession: history,
        pool,
        poolVectors,
      });

      const [mastraThread] = await populateMessages(app, {
        resourceId,
        size: history,
        perSession: history,
        pool,
        poolVectors,
      });
      await mastraMemory.saveThread({
        thread: { id: mastraThread as string, resourceId, title: "", createdAt: new Date(), updatedAt: new Date() },
      });
      const bridge = { finish: [] as number[], total: [] as number[] };
      const mastra = { finish: [] as number[], total: [] as number[] };
      const bare = { finish: [] as number[], total: [] as number[] };
      const embedding = embeddingTimer(app);
      const bridgeLessEmbedding: number[] = [];
      try {
        for (let index = 0; index < runs + 5; index++) {
          const keep = index >= 5;
          embedding.start();
          const one = await timedTurn(app, resourceId, bridgeSession as string, query(), embedding.finished);
          const two = await mastraTurn(withMemory, mastraThread as string, query());
          const three = await mastraTurn(withoutMemory, undefined, query());
          if (keep) {
            push(bridge, one);
            push(mastra, two);
            push(bare, three);
            bridgeLessEmbedding.push(one.finish - embedding.took());
          }
        }
      } finally {
        embedding.restore();
      }
      // Each store call of the first history's turns, before the user holds more (the larger history's messages).
      if (stepRows.length === 0) {
        const steps = await measureTurnSteps(app, resourceId, bridgeSession as string, runs, query);
        stepRows = steps.rows;
        stepsHistory = history;
        beyondEmbedding = {
          interleaved: timingOf(bridgeLessEmbedding).p50,
          backToBack: timingOf(steps.finishLessEmbedding).p50,
          bareModelCall: timingOf(bare.finish).p50,
        };
      }
      const label = `1 turn, ${history.toLocaleString("en-US")} messages of history`;
      rows.push({ case: label, system: "Session Bridge", ...summarize(bridge) });
      rows.push({ case: label, system: "Mastra Agent + Memory", ...summarize(mastra) });
      rows.push({ case: label, system: "Mastra Agent, no memory", ...summarize(bare) });
    }

    for (const concurrency of concurrencies) {
      const sessions = await Promise.all(Array.from({ length: concurrency }, () => app.sessions.create(resourceId)));
      const threads = sessions.map(() => uuidv7());
      for (const thread of threads) {
        await mastraMemory.saveThread({
          thread: { id: thread, resourceId, title: "", createdAt: new Date(), updatedAt: new Date() },
        });
      }
      const label = `${concurrency} concurrent sessions`;
      const bridgeStart = performance.now();
      const bridgeResults = await Promise.all(
        sessions.map((session) => timedTurn(app, resourceId, session.id, query())),
      );
      const bridgeWall = performance.now() - bridgeStart;
      const mastraStart = performance.now();
      const mastraResults = await Promise.all(threads.map((thread) => mastraTurn(withMemory, thread, query())));
      const mastraWall = performance.now() - mastraStart;
      rows.push({
        case: label,
        system: "Session Bridge",
        ...summarize(collect(bridgeResults)),
        throughput: concurrency / (bridgeWall / 1000),
      });
      rows.push({
        case: label,
        system: "Mastra Agent + Memory",
        ...summarize(collect(mastraResults)),
        throughput: concurrency / (mastraWall / 1000),
      });
    }
  } finally {
    await app.close();
    await rm(directory, { recursive: true, force: true });
  }

  const headers = [
    "case",
    "system",
    "to finish p50 ms",
    "to finish p95 ms",
    "turn saved p50 ms",
    "turn saved p95 ms",
    "turns/s",
  ];
  const table = rows.map((row) => [
    row.case,
    row.system,
    ms(row.finish.p50),
    ms(row.finish.p95),
    ms(row.total.p50),
    ms(row.total.p95),
    row.throughput === undefined ? "—" : row.throughput.toFixed(1),
  ]);
  const stepHeaders = ["store call", "when", "calls per turn", "p50 ms"];
  const stepTable = stepRows.map((row) => [row.step, row.phase, row.callsPerTurn.toFixed(1), ms(row.p50)]);
  const goal = beyondEmbedding
    ? `**A single turn beyond its embedding** (goal: at most 5 ms; ${stepsHistory.toLocaleString("en-US")} messages of history): each turn's time to \`finish\` less its own query's embedding, p50, less the bare model call (Mastra's Agent without Memory, ${ms(beyondEmbedding.bareModelCall)} ms in this run): **${ms(beyondEmbedding.interleaved - beyondEmbedding.bareModelCall)} ms** in the single-turn row's turns (${ms(beyondEmbedding.interleaved)} ms to \`finish\` without the embedding; each between two of Mastra's), **${ms(beyondEmbedding.backToBack - beyondEmbedding.bareModelCall)} ms** in the store-call table's turns (${ms(beyondEmbedding.backToBack)} ms without it; back to back).`
    : "";
  process.stdout.write(`\n${formatTable(headers, table)}\n\n${formatTable(stepHeaders, stepTable)}\n\n${goal}\n`);
  const file = await writeResults("turn", {
    benchmark: "turn",
    runs,
    machine: await machine(),
    rows,
    steps: stepRows,
    ...(beyondEmbedding ? { beyondEmbedding } : {}),
  });
  await updateReadme(
    "turn",
    `${formatMarkdown(headers, table)}\n\n**One turn's store calls** (a session with ${stepsHistory.toLocaleString("en-US")} messages of history, measured before the larger history is stored; ${runs} turns, each call timed by a wrapper around the store)\n\n${formatMarkdown(stepHeaders, stepTable)}\n\n${goal}\n\n_${runs} turns per single-turn row; the bridge's embedder in ${config.embedderThreads} worker thread(s), Mastra's on its own thread; ${new Date().toISOString().slice(0, 10)}, Node ${process.version}._`,
  );
  process.stdout.write(`\nwrote ${path.relative(process.cwd(), file)} and bench/README.md\n`);
}

async function mastraTurn(
  agent: Agent,
  thread: string | undefined,
  text: string,
): Promise<{ finish: number; total: number }> {
  const started = performance.now();
  const output = thread
    ? await agent.stream(text, { memory: { thread, resource: resourceId } })
    : await agent.stream(text);
  let finish = Number.NaN;
  for await (const chunk of output.fullStream)
    if ((chunk as { type: string }).type === "finish") finish = performance.now() - started;
  await output.getFullOutput();
  return { finish, total: performance.now() - started };
}

const ms = (milliseconds: number) => milliseconds.toFixed(1);

function push(into: { finish: number[]; total: number[] }, result: { finish: number; total: number }) {
  into.finish.push(result.finish);
  into.total.push(result.total);
}

function collect(results: { finish: number; total: number }[]) {
  const into = { finish: [] as number[], total: [] as number[] };
  for (const result of results) push(into, result);
  return into;
}

function summarize(samples: { finish: number[]; total: number[] }): { finish: Timing; total: Timing } {
  return { finish: timingOf(samples.finish), total: timingOf(samples.total) };
}
