import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createApp, defineEmbedder, EmbedderMismatchError, loadEmbedder, reindexApp } from "@session-bridge/server";
import type { ChatMessage } from "@session-bridge/shared";
import { v7 as uuidv7 } from "uuid";
import { loadUseLiteEmbedder } from "../packages/server/src/memory/embedders/use-lite.ts";
import { reindexMemory } from "../packages/server/src/memory/reindex.ts";
import { openLibsqlMemoryStorage } from "../packages/server/src/storage/libsql/libsql-storage.ts";
import { runSessionBridge } from "./_process.ts";
import { makeCapturedLogger, makeTempDir, makeTestApp, sharedEmbedder, testConfig } from "./_setup.ts";

const user = (text: string): ChatMessage => ({ id: uuidv7(), role: "user", parts: [{ type: "text", text }] });
const cosine = (a: number[], b: number[]) =>
  a.reduce((sum, value, index) => sum + value * (b[index] ?? 0), 0) / Math.hypot(...a) / Math.hypot(...b);

test("the offline embedder loads from the package, makes 512-dimensional vectors and ranks paraphrases first", async () => {
  const embedder = await sharedEmbedder();
  assert.equal(embedder.id, "local:use-lite");
  assert.equal(embedder.dimension, 512);
  const [question, paraphrase, unrelated, empty] = await embedder.embed([
    "How do I reset my password?",
    "I forgot my login credentials, how can I change them?",
    "The weather is sunny in Paris today.",
    "",
  ]);
  assert.equal(question?.length, 512);
  assert.ok(empty?.every(Number.isFinite), "an empty text still embeds to finite numbers");
  assert.ok(cosine(question ?? [], paraphrase ?? []) > cosine(question ?? [], unrelated ?? []) + 0.3);
});

test("loading the offline embedder leaves no process-wide error handlers behind", async () => {
  const before = [process.listeners("unhandledRejection").length, process.listeners("uncaughtException").length];
  await loadUseLiteEmbedder();
  assert.deepEqual(
    [process.listeners("unhandledRejection").length, process.listeners("uncaughtException").length],
    before,
  );
});

test("a stray rejected promise does not kill a server process that loaded the embedder", async () => {
  const fixture = fileURLToPath(new URL("./fixtures/stray-rejection.ts", import.meta.url));
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", fixture]);
  assert.match(stdout, /unhandled promise rejection/);
  assert.match(stdout, /alive\n$/);
});

test("fastembed without its model files fails at once with one clear line", async (t) => {
  const started = Date.now();
  await assert.rejects(loadEmbedder("fastembed:bge-small-en-v1.5", { ollamaBaseUrl: "http://127.0.0.1:1/v1" }), {
    message: /FASTEMBED_CACHE_DIR/,
  });
  const emptyDir = await makeTempDir(t);
  await assert.rejects(
    loadEmbedder("fastembed:bge-small-en-v1.5", {
      fastembedCacheDir: emptyDir,
      ollamaBaseUrl: "http://127.0.0.1:1/v1",
    }),
    (error: Error) => /model files not found/.test(error.message) && !error.message.includes("\n"),
  );
  assert.ok(Date.now() - started < 5000, "no download attempt, no hang");
});

test("a provider embedder of AI SDK 7 (specification v4) is adapted to one Mastra accepts", async () => {
  const { embedderFromProvider } = await import("../packages/server/src/memory/embedders/provider.ts");
  const embedder = await embedderFromProvider("test:v4", {
    specificationVersion: "v4",
    provider: "test",
    modelId: "v4",
    maxEmbeddingsPerCall: 2,
    doEmbed: async ({ values }) => ({ embeddings: values.map((value) => [value.length, 1, 0]) }),
  });
  assert.equal(embedder.dimension, 3);
  assert.equal(embedder.model.specificationVersion, "v3");
  assert.deepEqual(await embedder.embed(["a", "bb", "ccc"]), [
    [1, 1, 0],
    [2, 1, 0],
    [3, 1, 0],
  ]);
});

test("a different embedder stops start-up pointing to reindex; reindex can be interrupted, resumed, and switches recall over", async (t) => {
  const dataDir = await makeTempDir(t);
  const real = await sharedEmbedder();
  // The same model under another name: a real embedder whose vectors must not mix with the first's.
  const renamed = defineEmbedder({
    id: "local:use-lite-renamed",
    dimension: 512,
    maxEmbeddingsPerCall: 32,
    embed: real.embed,
  });

  const original = await makeTestApp(t, { dataDir });
  const sessionIds: string[] = [];
  for (let index = 0; index < 3; index++) {
    const session = await original.sessions.create("alice");
    sessionIds.push(session.id);
    await original.memory.save({
      sessionId: session.id,
      resourceId: "alice",
      messages: [
        user(`Filler message number ${index} about nothing much.`),
        user(`Topic ${index}: gardening tips for tomatoes.`),
      ],
    });
  }
  const fact = user("Our on-call rotation switches every Tuesday at 9am.");
  await original.memory.save({ sessionId: sessionIds[0] ?? "", resourceId: "alice", messages: [fact] });
  const oldIndex = original.memory.index.indexName;
  await original.close();

  const config = testConfig(dataDir);
  await assert.rejects(
    createApp(config, { embedder: renamed, logger: makeCapturedLogger().logger }),
    (error: Error) => {
      assert.ok(error instanceof EmbedderMismatchError);
      assert.match(error.message, /session-bridge reindex/);
      assert.doesNotMatch(error.message, /\n/);
      return true;
    },
  );

  const memoryStorage = await openLibsqlMemoryStorage({ url: config.memoryDatabaseUrl });
  t.after(() => memoryStorage.close());
  const controller = new AbortController();
  const progress: number[] = [];
  const partial = await reindexMemory({
    messages: memoryStorage.messages,
    vectors: memoryStorage.vectors,
    embedder: renamed,
    batchSize: 2,
    signal: controller.signal,
    onProgress: ({ done }) => {
      progress.push(done);
      if (done >= 2) controller.abort();
    },
  });
  assert.equal(partial.complete, false);
  assert.equal(partial.messages, 2);

  // Mid-reindex, a server still on the old embedder recalls as before.
  const during = await makeTestApp(t, { dataDir });
  const other = await during.sessions.create("alice");
  const query = "When does the on-call schedule change over?";
  const recallDuring = await during.memory.recall({ sessionId: other.id, resourceId: "alice", query });
  assert.ok(recallDuring.recalled.some((item) => item.message.id === fact.id));
  await during.close();

  const phases: string[] = [];
  const finished = await reindexApp(config, { embedder: renamed, onProgress: ({ phase }) => phases.push(phase) });
  assert.equal(finished.complete, true);
  assert.equal(phases.at(-1), "indexing", "the index is built, and said to be, after the last batch");
  assert.equal(phases.filter((phase) => phase === "indexing").length, 1);
  assert.equal(finished.messages, finished.total - 2, "resumed where it stopped");
  assert.equal(finished.replacedIndex, oldIndex);
  const tables = await memoryStorage.database.client.execute({
    sql: "SELECT name FROM sqlite_master WHERE name = ?",
    args: [oldIndex],
  });
  assert.equal(tables.rows.length, 0, "the old vectors are gone");

  const after = await makeTestApp(t, { dataDir, embedder: renamed });
  const recallAfter = await after.memory.recall({ sessionId: other.id, resourceId: "alice", query });
  assert.ok(recallAfter.recalled.some((item) => item.message.id === fact.id));
  assert.equal(
    Number(
      (await memoryStorage.database.client.execute(`SELECT count(*) AS count FROM ${after.memory.index.indexName}`))
        .rows[0]?.count,
    ),
    finished.total,
  );
  await assert.rejects(makeTestApp(t, { dataDir, embedder: real }), EmbedderMismatchError);
});

test("a vector index from an older release is named at start and rebuilt with current settings by reindex in place", async (t) => {
  const dataDir = await makeTempDir(t);
  const first = await makeTestApp(t, { dataDir });
  const session = await first.sessions.create("alice");
  const fact = user("The staging database is restored from backup every Monday.");
  await first.memory.save({ sessionId: session.id, resourceId: "alice", messages: [fact] });
  const { indexName } = first.memory.index;
  await first.close();
  const config = testConfig(dataDir);
  const memoryStorage = await openLibsqlMemoryStorage({ url: config.memoryDatabaseUrl });
  t.after(() => memoryStorage.close());
  const { client } = memoryStorage.database;
  const definition = async () =>
    String(
      (
        await client.execute({
          sql: "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?",
          args: [`${indexName}_vector_idx`],
        })
      ).rows[0]?.sql ?? "",
    );
  // As releases before this one made it: libSQL's default DiskANN settings.
  await client.execute(`DROP INDEX ${indexName}_vector_idx`);
  await client.execute(`CREATE INDEX ${indexName}_vector_idx ON ${indexName} (libsql_vector_idx(embedding))`);

  const old = await makeTestApp(t, { dataDir });
  assert.ok(
    old.logLines.some((line) => line.level === 40 && /session-bridge reindex/.test(String(line.msg))),
    "start-up names the outdated index",
  );
  await old.close();
  assert.doesNotMatch(await definition(), /compress_neighbors/, "start-up does not rebuild it");

  const report = await reindexApp(config, { embedder: await sharedEmbedder() });
  assert.equal(report.complete, true);
  assert.equal(report.replacedIndex, null, "rebuilt in place");
  assert.match(await definition(), /'compress_neighbors=float1bit', 'search_l=400'/);
  const after = await makeTestApp(t, { dataDir });
  assert.ok(!after.logLines.some((line) => /session-bridge reindex/.test(String(line.msg))));
  const other = await after.sessions.create("alice");
  const recall = await after.memory.recall({
    sessionId: other.id,
    resourceId: "alice",
    query: "When is the pre-production database brought back from a backup?",
  });
  assert.ok(recall.recalled.some((item) => item.message.id === fact.id));
});

test("a reindex of an empty store says nothing about building an index", async (t) => {
  const config = testConfig(await makeTempDir(t));
  const phases: string[] = [];
  const report = await reindexApp(config, {
    embedder: await sharedEmbedder(),
    onProgress: ({ phase }) => phases.push(phase),
  });
  assert.equal(report.complete, true);
  assert.deepEqual(phases, ["embedding"]);
});

test("session-bridge reindex --json on an empty store reports a complete run", async (t) => {
  const dataDir = await makeTempDir(t);
  const { code, stdout, stderr } = await runSessionBridge(["reindex", "--json"], { DATA_DIR: dataDir });
  assert.equal(code, 0, stderr);
  const report = JSON.parse(stdout);
  assert.equal(report.complete, true);
  assert.equal(report.embedderId, "local:use-lite");
  assert.equal(report.total, 0);
});
