import assert from "node:assert/strict";
import { test } from "node:test";
import { defineEmbedder } from "./embedders/embedder.ts";
import { cachedEmbed } from "./embedding-cache.ts";

function countingEmbedder() {
  const calls: string[][] = [];
  const embedder = defineEmbedder({
    id: "test:length",
    dimension: 2,
    maxEmbeddingsPerCall: 8,
    embed: async (texts) => {
      calls.push(texts);
      return texts.map((text) => [text.length, 1]);
    },
  });
  return { embedder, calls };
}

test("embeds each distinct text once and answers repeats from the cache, in order", async () => {
  const { embedder, calls } = countingEmbedder();
  const embed = cachedEmbed(embedder);
  assert.deepEqual(await embed(["a", "bb", "a"], "query", "alice"), [
    [1, 1],
    [2, 1],
    [1, 1],
  ]);
  assert.deepEqual(await embed(["bb", "ccc"], "query", "alice"), [
    [2, 1],
    [3, 1],
  ]);
  assert.deepEqual(calls, [["a", "bb"], ["ccc"]]);
});

test("forgets the least recently used text beyond its capacity", async () => {
  const { embedder, calls } = countingEmbedder();
  const embed = cachedEmbed(embedder, 2);
  await embed(["a", "bb"], "query", "alice");
  await embed(["a"], "query", "alice"); // "a" is now the most recent
  await embed(["ccc"], "query", "alice"); // evicts "bb"
  await embed(["a", "bb"], "query", "alice");
  assert.deepEqual(calls, [["a", "bb"], ["ccc"], ["bb"]]);
});

test("a batch larger than the capacity still returns every vector", async () => {
  const { embedder } = countingEmbedder();
  const embed = cachedEmbed(embedder, 1);
  assert.deepEqual(await embed(["a", "bb", "ccc"], "query", "alice"), [
    [1, 1],
    [2, 1],
    [3, 1],
  ]);
});

test("a text being embedded is not sent again: background work waits for a query's embedding, a query never for background work", async () => {
  const calls: { texts: string[]; priority: string }[] = [];
  const pending: (() => void)[] = [];
  const embed = cachedEmbed({
    id: "test:gated",
    embed: (texts, priority) => {
      calls.push({ texts, priority });
      return new Promise((resolve) => pending.push(() => resolve(texts.map((text) => [text.length, 1]))));
    },
  });
  const query = embed(["user message"], "query", "alice");
  const saved = embed(["user message", "answer"], "background", "alice");
  await Promise.resolve();
  assert.deepEqual(calls, [
    { texts: ["user message"], priority: "query" },
    { texts: ["answer"], priority: "background" },
  ]);
  // A query for a text only background work is embedding goes on its own.
  const retried = embed(["answer"], "query", "alice");
  assert.deepEqual(calls.at(-1), { texts: ["answer"], priority: "query" });
  for (const release of pending) release();
  assert.deepEqual(await query, [[12, 1]]);
  assert.deepEqual(await saved, [
    [12, 1],
    [6, 1],
  ]);
  assert.deepEqual(await retried, [[6, 1]]);
  assert.equal(calls.length, 3);
});

test("a failed embedding fails every request waiting for it, and the next request tries again", async () => {
  let fail = true;
  const calls: string[][] = [];
  const embed = cachedEmbed({
    id: "test:flaky",
    embed: async (texts) => {
      calls.push(texts);
      await new Promise((resolve) => setImmediate(resolve));
      if (fail) throw new Error("embedder down");
      return texts.map((text) => [text.length, 1]);
    },
  });
  const first = embed(["x"], "query", "alice");
  const second = embed(["x"], "background", "alice");
  await assert.rejects(first, /embedder down/);
  await assert.rejects(second, /embedder down/);
  fail = false;
  assert.deepEqual(await embed(["x"], "background", "alice"), [[1, 1]]);
  assert.deepEqual(calls, [["x"], ["x"]]);
});

test("a text one user had embedded is embedded again for another: the cache, and the embedding in flight, are per user", async () => {
  const calls: string[][] = [];
  const pending: (() => void)[] = [];
  const embed = cachedEmbed({
    id: "test:gated",
    embed: (texts) => {
      calls.push(texts);
      return new Promise((resolve) => pending.push(() => resolve(texts.map((text) => [text.length, 1]))));
    },
  });
  const alice = embed(["the launch is on Thursday"], "query", "alice");
  const bob = embed(["the launch is on Thursday"], "query", "bob");
  await Promise.resolve();
  assert.equal(calls.length, 2, "bob waited for alice's embedding");
  for (const release of pending.splice(0)) release();
  await Promise.all([alice, bob]);
  // Done and cached: each user's repeat is a hit, a third user's is not.
  await embed(["the launch is on Thursday"], "query", "alice");
  await embed(["the launch is on Thursday"], "background", "bob");
  assert.equal(calls.length, 2);
  const carol = embed(["the launch is on Thursday"], "query", "carol");
  await Promise.resolve();
  assert.equal(calls.length, 3, "carol was answered from another user's embedding");
  for (const release of pending.splice(0)) release();
  await carol;
});

test("a call that also waits for a text in flight caches the texts it embedded itself before it waits", async () => {
  const calls: string[][] = [];
  const pending = new Map<string, () => void>();
  const embed = cachedEmbed({
    id: "test:gated",
    embed: (texts) => {
      calls.push(texts);
      return new Promise((resolve) =>
        pending.set(texts.join("|"), () => resolve(texts.map((text) => [text.length, 1]))),
      );
    },
  });
  const query = embed(["a"], "query", "alice");
  const saved = embed(["a", "bb"], "background", "alice"); // waits for "a", embeds "bb"
  await Promise.resolve();
  pending.get("bb")?.();
  await new Promise((resolve) => setImmediate(resolve));
  // "bb" is done while "a" is still in flight: asking for it again is a hit.
  const again = embed(["bb"], "query", "alice");
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(calls, [["a"], ["bb"]]);
  for (const release of pending.values()) release();
  assert.deepEqual(await again, [[2, 1]]);
  assert.deepEqual(await saved, [
    [1, 1],
    [2, 1],
  ]);
  await query;
});
