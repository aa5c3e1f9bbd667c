import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { createEmbeddingScheduler } from "../packages/server/src/memory/embedding-scheduler.ts";

// The scheduler alone, in front of an embedder whose calls the test answers by hand.

/** An embedder that records each call and answers it only when the test says so. */
function gatedEmbedder(concurrency = 1) {
  const calls: { texts: string[]; answer: () => void; fail: (error: Error) => void }[] = [];
  return {
    concurrency,
    calls,
    embed(texts: string[]) {
      return new Promise<number[][]>((resolve, reject) => {
        calls.push({ texts, answer: () => resolve(texts.map((text) => [text.length])), fail: reject });
      });
    },
  };
}

/** Lets the scheduler's pending callbacks run. */
const settle = async () => {
  for (let round = 0; round < 5; round += 1) await yieldToEventLoop();
};

describe("embedding scheduler", () => {
  test("queries that queue while a call runs share the next call, in order, each getting its own vectors", async () => {
    const embedder = gatedEmbedder();
    const scheduler = createEmbeddingScheduler(embedder);
    const first = scheduler.embed(["a"], "query");
    const second = scheduler.embed(["bb", "ccc"], "query");
    const third = scheduler.embed(["dddd"], "query");
    assert.deepEqual(
      embedder.calls.map((call) => call.texts),
      [["a"]],
    );
    assert.equal(scheduler.queuedQueries(), 3);
    embedder.calls[0]?.answer();
    await settle();
    assert.deepEqual(
      embedder.calls.map((call) => call.texts),
      [["a"], ["bb", "ccc", "dddd"]],
    );
    assert.equal(scheduler.queuedQueries(), 0);
    embedder.calls[1]?.answer();
    assert.deepEqual(await first, [[1]]);
    assert.deepEqual(await second, [[2], [3]]);
    assert.deepEqual(await third, [[4]]);
  });

  test("a worker thread gets its next call before the turns its last call resumed go on", async () => {
    const embedder = gatedEmbedder(1);
    const scheduler = createEmbeddingScheduler(embedder);
    const first = scheduler.embed(["a"], "query");
    void scheduler.embed(["bb"], "query");
    embedder.calls[0]?.answer();
    await first;
    // What the resumed turn does next (its recall) runs in a later turn of the event loop.
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(
      embedder.calls.map((call) => call.texts),
      [["a"], ["bb"]],
    );
  });

  test("a call takes at most maxBatch texts; a job split over calls resolves once all its parts are back", async () => {
    const embedder = gatedEmbedder();
    const scheduler = createEmbeddingScheduler(embedder, { maxBatch: 2 });
    const job = scheduler.embed(["a", "bb", "ccc"], "query");
    let resolved = false;
    void job.then(() => {
      resolved = true;
    });
    embedder.calls[0]?.answer();
    await settle();
    assert.equal(resolved, false);
    assert.deepEqual(
      embedder.calls.map((call) => call.texts),
      [["a", "bb"], ["ccc"]],
    );
    embedder.calls[1]?.answer();
    assert.deepEqual(await job, [[1], [2], [3]]);
  });

  test("runs as many calls at once as the embedder's concurrency, queries before background work", async () => {
    const embedder = gatedEmbedder(2);
    const scheduler = createEmbeddingScheduler(embedder);
    void scheduler.embed(["q1"], "query");
    void scheduler.embed(["q2"], "query");
    const background = scheduler.embed(["b1"], "background");
    const late = scheduler.embed(["q3"], "query");
    assert.equal(embedder.calls.length, 2, "two at once, no more");
    embedder.calls[0]?.answer();
    await settle();
    assert.deepEqual(embedder.calls[2]?.texts, ["q3"], "the later query goes before the earlier background text");
    embedder.calls[1]?.answer();
    await settle();
    assert.deepEqual(embedder.calls[3]?.texts, ["b1"]);
    embedder.calls[2]?.answer();
    embedder.calls[3]?.answer();
    assert.deepEqual(await late, [[2]]);
    assert.deepEqual(await background, [[2]]);
  });

  test("background texts go one per call on an embedder on this thread, up to 8 per call on one off it", async () => {
    const onThread = gatedEmbedder();
    const { concurrency: _, ...inPlace } = onThread;
    const here = createEmbeddingScheduler(inPlace);
    const work = here.embed(["a", "b", "c"], "background");
    for (let call = 0; call < 3; call += 1) {
      await settle();
      onThread.calls[call]?.answer();
    }
    assert.deepEqual(await work, [[1], [1], [1]]);
    assert.deepEqual(
      onThread.calls.map((call) => call.texts),
      [["a"], ["b"], ["c"]],
    );

    const offThread = gatedEmbedder(1);
    const elsewhere = createEmbeddingScheduler(offThread);
    const texts = Array.from({ length: 10 }, (_, index) => `t${index}`);
    const batched = elsewhere.embed(texts, "background");
    offThread.calls[0]?.answer();
    await settle();
    offThread.calls[1]?.answer();
    assert.equal((await batched).length, 10);
    assert.deepEqual(
      offThread.calls.map((call) => call.texts.length),
      [8, 2],
    );
  });

  test("background work waits while a turn holds, and runs at release or when its deferral runs out", async () => {
    const embedder = gatedEmbedder();
    const scheduler = createEmbeddingScheduler(embedder, { maxDeferMs: 60 });
    const release = scheduler.hold();
    const background = scheduler.embed(["b"], "background");
    await settle();
    assert.equal(embedder.calls.length, 0, "held back");
    release();
    assert.equal(embedder.calls.length, 1, "released");
    embedder.calls[0]?.answer();
    await background;

    const stillHeld = scheduler.hold();
    const starving = scheduler.embed(["never starved"], "background");
    await new Promise((resolve) => setTimeout(resolve, 120));
    assert.equal(embedder.calls.length, 2, "the deferral ran out although the hold was not released");
    embedder.calls[1]?.answer();
    await starving;
    stillHeld();
  });

  test("a failed call rejects each job in it once; the next job still runs", async () => {
    const embedder = gatedEmbedder();
    const scheduler = createEmbeddingScheduler(embedder, { maxBatch: 1 });
    const busy = scheduler.embed(["x"], "query");
    const twoCalls = scheduler.embed(["a", "b"], "query");
    const after = scheduler.embed(["c"], "query");
    embedder.calls[0]?.answer();
    await busy;
    await settle();
    embedder.calls[1]?.fail(new Error("model broke"));
    await assert.rejects(twoCalls, /model broke/);
    await settle();
    assert.deepEqual(
      embedder.calls.map((call) => call.texts),
      [["x"], ["a"], ["c"]],
      "the failed job's other text is dropped",
    );
    embedder.calls[2]?.answer();
    assert.deepEqual(await after, [[1]]);
  });

  test("a failed call shared by several jobs is retried job by job: only the job that fails again is rejected", async () => {
    const embedder = gatedEmbedder();
    const scheduler = createEmbeddingScheduler(embedder);
    const busy = scheduler.embed(["x"], "query");
    const good = scheduler.embed(["fine"], "query");
    const bad = scheduler.embed(["poison"], "query");
    embedder.calls[0]?.answer();
    await busy;
    await settle();
    assert.deepEqual(embedder.calls[1]?.texts, ["fine", "poison"]);
    embedder.calls[1]?.fail(new Error("one bad input"));
    await settle();
    assert.deepEqual(
      embedder.calls.slice(2).map((call) => call.texts),
      [["fine"], ["poison"]],
      "each job again on its own, at once",
    );
    embedder.calls[2]?.answer();
    embedder.calls[3]?.fail(new Error("one bad input"));
    assert.deepEqual(await good, [[4]]);
    await assert.rejects(bad, /one bad input/);
  });

  test("an embedder that returns the wrong number of vectors fails the jobs in the call", async () => {
    const scheduler = createEmbeddingScheduler({ embed: async () => [[1]] });
    await assert.rejects(scheduler.embed(["a", "b"], "query"), /returned 1 vectors for 2 texts/);
  });
});
