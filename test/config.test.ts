import assert from "node:assert/strict";
import { availableParallelism } from "node:os";
import { test } from "node:test";
import { ConfigError, loadConfig } from "@session-bridge/server";

// Configuration by environment: defaults and validation of the embedder's threads and queue, the answer cache and
// recall's vectors in memory.

test("embedder threads default to one per spare core, at least one, at most four; 0 embeds on the serving thread", () => {
  const defaults = loadConfig({});
  assert.equal(defaults.embedderThreads, Math.min(4, Math.max(1, availableParallelism() - 1)));
  assert.equal(defaults.embedQueueLimit, 1000);
  const set = loadConfig({ EMBEDDER_THREADS: "0", EMBED_QUEUE_LIMIT: "5" });
  assert.equal(set.embedderThreads, 0);
  assert.equal(set.embedQueueLimit, 5);
});

test("the sessions API's answer cache takes 32 MB by default, any whole number of MB, 0 for none", () => {
  assert.equal(loadConfig({}).apiCacheBytes, 32 * 1024 * 1024);
  assert.equal(loadConfig({ API_CACHE_MB: "0" }).apiCacheBytes, 0);
  assert.equal(loadConfig({ API_CACHE_MB: "1" }).apiCacheBytes, 1024 * 1024);
});

test("recall's vectors held in memory take 64 MB by default, any whole number of MB, 0 for none", () => {
  assert.equal(loadConfig({}).recallCacheBytes, 64 * 1024 * 1024);
  assert.equal(loadConfig({ RECALL_CACHE_MB: "0" }).recallCacheBytes, 0);
  assert.equal(loadConfig({ RECALL_CACHE_MB: "3" }).recallCacheBytes, 3 * 1024 * 1024);
});

test("out-of-range or non-integer embedder threads, queue limits and cache sizes are refused, naming the variable", () => {
  for (const [name, value] of [
    ["EMBEDDER_THREADS", "-1"],
    ["EMBEDDER_THREADS", "65"],
    ["EMBEDDER_THREADS", "two"],
    ["EMBED_QUEUE_LIMIT", "0"],
    ["EMBED_QUEUE_LIMIT", "1.5"],
    ["API_CACHE_MB", "-1"],
    ["API_CACHE_MB", "65537"],
    ["API_CACHE_MB", "lots"],
    ["RECALL_CACHE_MB", "-1"],
    ["RECALL_CACHE_MB", "65537"],
    ["RECALL_CACHE_MB", "1.5"],
  ] as const) {
    assert.throws(
      () => loadConfig({ [name]: value }),
      (error: unknown) => error instanceof ConfigError && error.message.includes(name),
      `${name}=${value}`,
    );
  }
});
