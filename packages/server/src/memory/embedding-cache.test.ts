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
  assert.deepEqual(await embed(["a", "bb", "a"], "query"), [
    [1, 1],
    [2, 1],
    [1, 1],
  ]);
  assert.deepEqual(await embed(["bb", "ccc"], "query"), [
    [2, 1],
    [3, 1],
  ]);
  assert.deepEqual(calls, [["a", "bb"], ["ccc"]]);
});

test("forgets the least recently used text beyond its capacity", async () => {
  const { embedder, calls } = countingEmbedder();
  const embed = cachedEmbed(embedder, 2);
  await embed(["a", "bb"], "query");
  await embed(["a"], "query"); // "a" is now the most recent
  await embed(["ccc"], "query"); // evicts "bb"
  await embed(["a", "bb"], "query");
  assert.deepEqual(calls, [["a", "bb"], ["ccc"], ["bb"]]);
});

test("a batch larger than the capacity still returns every vector", async () => {
  const { embedder } = countingEmbedder();
  const embed = cachedEmbed(embedder, 1);
  assert.deepEqual(await embed(["a", "bb", "ccc"], "query"), [
    [1, 1],
    [2, 1],
    [3, 1],
  ]);
});
