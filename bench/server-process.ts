// A server process for the multi-process benchmark: the real app and HTTP
// server, configured from the environment like `session-bridge serve`, with
// the benchmarks' mock model (answers at once) instead of a provider. Prints
// one JSON line `{"url"}` when it listens; SIGTERM closes it.
import { createApp, createHttpApp, createLogger, loadConfig, startHttpServer } from "@session-bridge/server";
import { simulateReadableStream } from "ai";
import { MockLanguageModelV4 } from "ai/test";
import pino from "pino";
import { mockUsage, textAnswerChunks } from "../fixtures/model-chunks.ts";

const chunks = textAnswerChunks(["A short answer from the mock model."], { id: "t", usage: mockUsage(10, 8) });
const config = loadConfig(process.env);
const app = await createApp(config, {
  model: new MockLanguageModelV4({ doStream: async () => ({ stream: simulateReadableStream({ chunks }) }) }),
  logger: createLogger("warn", pino.destination({ dest: 2, sync: false })),
  embedderThreads: config.embedderThreads,
});
const server = await startHttpServer(createHttpApp(app), { host: "127.0.0.1", port: 0 });
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`);
process.once("SIGTERM", async () => {
  await server.close();
  await app.close();
  process.exit(0);
});
