import assert from "node:assert/strict";
import { test } from "node:test";
import { chunksToEmbed, embeddingLimits, queryOf } from "./embedded-text.ts";

test("short text is one chunk and its own query", () => {
  assert.deepEqual(chunksToEmbed("short text"), ["short text"]);
  assert.equal(queryOf("  short text "), "short text");
  assert.deepEqual(chunksToEmbed("   "), []);
});

test("long text is cut at whitespace into at most maxChunks chunks of chunkLength", () => {
  const words = Array.from({ length: 20_000 }, (_, index) => `word${index}`);
  const chunks = chunksToEmbed(words.join(" "));
  assert.equal(chunks.length, embeddingLimits.maxChunks);
  assert.ok(chunks.every((chunk) => chunk.length <= embeddingLimits.chunkLength));
  // Cut between words: together the chunks are the start of the text, word for word.
  const embedded = chunks.join(" ").split(" ");
  assert.deepEqual(embedded, words.slice(0, embedded.length));
  assert.ok(embedded.length > 1000);
});

test("a word longer than a chunk is cut, not dropped, and never inside a surrogate pair", () => {
  const long = "x".repeat(embeddingLimits.chunkLength * 3);
  assert.deepEqual(
    chunksToEmbed(long),
    Array.from({ length: 3 }, () => "x".repeat(embeddingLimits.chunkLength)),
  );
  const emoji = "😀".repeat(embeddingLimits.chunkLength);
  for (const chunk of chunksToEmbed(emoji)) assert.ok(!/[\ud800-\udbff]$/.test(chunk), "no lone high surrogate");
  assert.equal(queryOf("y".repeat(10_000)).length, embeddingLimits.queryLength);
});
