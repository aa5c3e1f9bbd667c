// npm run bench -- durability [--runs 40] [--tokens 500] [--token-ms 0,2]
//
// What crash safety costs per turn: the same turn (a mock model streaming a
// 500-token answer) on two apps in the same run, one with the durable path
// (user message saved at the start, each step saved as it finishes, the stream
// appended to the chunk log) and one with it switched off. Runs alternate
// between the two so that drift hits both alike.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { createApp, type Embedder, loadConfig } from "@session-bridge/server";
import { simulateReadableStream } from "ai";
import { MockLanguageModelV4 } from "ai/test";
import pino from "pino";
import { v7 as uuidv7 } from "uuid";
import { mockUsage, textAnswerChunks } from "../fixtures/model-chunks.ts";
import { loadUseLiteEmbedder } from "../packages/server/src/memory/embedders/use-lite.ts";
import { makeTexts, timedTurn } from "./fixtures.ts";
import { formatMarkdown, formatTable, machine, type Timing, timingOf, updateReadme, writeResults } from "./measure.ts";

const resourceId = "bench-user";

/** A mock model answering with `tokens` one-word deltas, `tokenMs` apart. */
function answeringModel(tokens: number, tokenMs: number) {
  const deltas = Array.from({ length: tokens }, (_, index) => `w${index} `);
  const chunks = textAnswerChunks(deltas, { id: "t", usage: mockUsage(50, tokens) });
  return new MockLanguageModelV4({
    doStream: async () => ({ stream: simulateReadableStream({ chunks, chunkDelayInMs: tokenMs || null }) }),
  });
}

interface Row {
  tokenMs: number;
  durable: boolean;
  finish: Timing;
  total: Timing;
}

export async function main(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { runs: { type: "string" }, tokens: { type: "string" }, "token-ms": { type: "string" } },
  });
  const runs = Number(values.runs ?? 40);
  const tokens = Number(values.tokens ?? 500);
  const tokenDelays = (values["token-ms"] ?? "0,2").split(",").map(Number);
  const embedder = await loadUseLiteEmbedder();
  const queries = makeTexts(1000, 5);
  const rows: Row[] = [];

  for (const tokenMs of tokenDelays) {
    const on = await benchApp(embedder, tokens, tokenMs, true);
    const off = await benchApp(embedder, tokens, tokenMs, false);
    try {
      const samples = {
        on: { finish: [] as number[], total: [] as number[] },
        off: { finish: [] as number[], total: [] as number[] },
      };
      for (let index = 0; index < runs + 5; index++) {
        const text = queries[index % queries.length] as string;
        // Alternate which goes first, so neither always runs on a warmer machine.
        const order = index % 2 === 0 ? (["on", "off"] as const) : (["off", "on"] as const);
        for (const which of order) {
          const target = which === "on" ? on : off;
          const result = await timedTurn(target.app, resourceId, target.sessionId, text);
          if (index >= 5) {
            samples[which].finish.push(result.finish);
            samples[which].total.push(result.total);
          }
        }
        process.stderr.write(`\r${tokenMs} ms/token: ${index + 1}/${runs + 5} turns`);
      }
      process.stderr.write("\n");
      rows.push({ tokenMs, durable: true, finish: timingOf(samples.on.finish), total: timingOf(samples.on.total) });
      rows.push({ tokenMs, durable: false, finish: timingOf(samples.off.finish), total: timingOf(samples.off.total) });
    } finally {
      await on.close();
      await off.close();
    }
  }

  const headers = [
    "model speed",
    "durable path",
    "to finish p50 ms",
    "to finish p95 ms",
    "turn saved p50 ms",
    "turn saved p95 ms",
    "overhead at p50 (finish / saved)",
  ];
  const table = rows.map((row) => {
    const baseline = rows.find((other) => other.tokenMs === row.tokenMs && !other.durable);
    const overhead = (value: number, base: number | undefined) =>
      base ? `${(((value - base) / base) * 100).toFixed(1)} %` : "—";
    return [
      row.tokenMs === 0 ? `${tokens} tokens at once` : `${tokens} tokens, ${row.tokenMs} ms each`,
      row.durable ? "on" : "off",
      row.finish.p50.toFixed(1),
      row.finish.p95.toFixed(1),
      row.total.p50.toFixed(1),
      row.total.p95.toFixed(1),
      row.durable
        ? `${overhead(row.finish.p50, baseline?.finish.p50)} / ${overhead(row.total.p50, baseline?.total.p50)}`
        : "—",
    ];
  });
  process.stdout.write(`\n${formatTable(headers, table)}\n`);
  const file = await writeResults("durability", {
    benchmark: "durability",
    runs,
    tokens,
    machine: await machine(),
    rows,
  });
  await updateReadme(
    "durability",
    `${formatMarkdown(headers, table)}\n\n_${runs} turns per row, alternating; ${new Date().toISOString().slice(0, 10)}, Node ${process.version}._`,
  );
  process.stdout.write(`\nwrote ${path.relative(process.cwd(), file)} and bench/README.md\n`);
}

/** An app on its own temp folder with one session holding some history. */
async function benchApp(embedder: Embedder, tokens: number, tokenMs: number, durable: boolean) {
  const directory = await mkdtemp(path.join(tmpdir(), "session-bridge-bench-"));
  const app = await createApp(loadConfig({ DATA_DIR: directory, LOG_LEVEL: "silent" }), {
    embedder,
    model: answeringModel(tokens, tokenMs),
    logger: pino({ level: "silent" }),
    durable,
  });
  const session = await app.sessions.create(resourceId);
  for (const [index, text] of makeTexts(20, durable ? 1 : 2).entries()) {
    await app.memory.save({
      sessionId: session.id,
      resourceId,
      messages: [{ id: uuidv7(), role: index % 2 === 0 ? "user" : "assistant", parts: [{ type: "text", text }] }],
      index: "now",
    });
  }
  return {
    app,
    sessionId: session.id,
    close: async () => {
      await app.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}
