import assert from "node:assert/strict";
import { test } from "node:test";
import { createApp, loadEmbedder } from "@session-bridge/server";
import { v7 as uuidv7 } from "uuid";
import { makeTempDir, sharedEmbedder, testConfig } from "./_setup.ts";

// The offline embedder in worker threads: the same vectors as on this thread, calls in
// parallel, and a close that lets the calls in flight finish.

const texts = ["How do I reset my password?", "The weather is sunny in Paris today.", "", "ünïcödé 🍎"];

test("worker threads make the same vectors as the embedder on this thread, for concurrent calls", async (t) => {
  const threaded = await loadEmbedder("local:use-lite", { ollamaBaseUrl: "http://127.0.0.1:1/v1", threads: 2 });
  t.after(() => threaded.close?.());
  assert.equal(threaded.id, "local:use-lite");
  assert.equal(threaded.dimension, 512);
  assert.equal(threaded.concurrency, 2);
  const local = await (await sharedEmbedder()).embed(texts);
  const calls = await Promise.all(texts.map((text) => threaded.embed([text])));
  const batch = await threaded.embed(texts);
  for (const [index, expected] of local.entries()) {
    for (const [name, vectors] of [
      ["one call each", calls.map(([vector]) => vector)],
      ["one batch", batch],
    ] as const) {
      const vector = vectors[index] ?? [];
      assert.equal(vector.length, 512);
      // The model computes in float32 in both places; the thread sends float32.
      assert.ok(
        vector.every((value, position) => Math.abs(value - (expected[position] ?? Number.NaN)) < 1e-6),
        `${name}: text ${index}`,
      );
    }
  }
});

test("closing waits for the calls in flight, then refuses new ones", async () => {
  const threaded = await loadEmbedder("local:use-lite", { ollamaBaseUrl: "http://127.0.0.1:1/v1", threads: 1 });
  const inFlight = threaded.embed(Array.from({ length: 16 }, (_, index) => `text number ${index}`));
  await threaded.close?.();
  assert.equal((await inFlight).length, 16);
  await assert.rejects(threaded.embed(["after close"]), /closed/);
});

test("an app that loads its embedder in threads recalls with it, and closing the app stops the threads", async (t) => {
  const app = await createApp(testConfig(await makeTempDir(t)), { embedderThreads: 1 });
  let closed = false;
  t.after(() => (closed ? undefined : app.close()));
  assert.equal(app.embedder.concurrency, 1);
  const session = await app.sessions.create("alice");
  const fact = {
    id: uuidv7(),
    role: "user" as const,
    parts: [{ type: "text" as const, text: "The launch moved to May 4th." }],
  };
  await app.memory.save({ sessionId: session.id, resourceId: "alice", messages: [fact] });
  const other = await app.sessions.create("alice");
  const recall = await app.memory.recall({ sessionId: other.id, resourceId: "alice", query: "When is the launch?" });
  assert.ok(recall.recalled.some((item) => item.foundBy.length > 0 && item.message.id === fact.id));
  await app.close();
  closed = true;
  // The threads are gone: the embedder refuses work (and the test process can exit).
  await assert.rejects(app.embedder.embed(["after close"]), /closed/);
});
