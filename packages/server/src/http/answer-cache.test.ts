import assert from "node:assert/strict";
import { test } from "node:test";
import { createAnswerCache } from "./answer-cache.ts";

// Each answer is counted as its bytes + 2 per character of its request + 64; each resource as 128 + 2 per character of its id.
const answerSize = (bytes: number, request: string) => bytes + 2 * request.length + 64;
const resourceSize = (resourceId: string) => 128 + 2 * resourceId.length;

test("keeps at most its bytes, a resource's answers at most an eighth, the least recently used going first", () => {
  const cache = createAnswerCache(8 * 400);
  const body = (fill: number, size = 100) => new Uint8Array(size).fill(fill);
  cache.set("a", "one", "1", body(1));
  cache.set("a", "two", "1", body(2));
  assert.equal(cache.bytes, resourceSize("a") + 2 * answerSize(100, "one"));
  cache.set("a", "two", "1", body(3)); // the same request again replaces its answer
  assert.equal(cache.bytes, resourceSize("a") + 2 * answerSize(100, "one"));
  assert.equal(cache.get("a", "two", "1")?.[0], 3);
  // A resource's answers take at most 400 bytes: "one" (its least recently used) goes.
  cache.set("a", "six", "1", body(6, 50));
  assert.equal(cache.get("a", "one", "1"), undefined);
  assert.equal(cache.get("a", "two", "1")?.[0], 3);
  assert.equal(cache.bytes, resourceSize("a") + answerSize(100, "two") + answerSize(50, "six"));
  // An answer larger than a resource's share is not kept, and the one it would replace goes.
  cache.set("a", "two", "1", body(7, 400));
  assert.equal(cache.get("a", "two", "1"), undefined);
  assert.equal(cache.bytes, resourceSize("a") + answerSize(50, "six"));
  // Across resources: the least recently used resource's oldest answers go first.
  for (let resource = 0; resource < 20; resource++) {
    cache.set(`r${resource}`, "one", "1", body(8));
    assert.ok(cache.bytes <= 8 * 400);
  }
  assert.equal(cache.get("a", "six", "1"), undefined);
  const kept = Array.from({ length: 20 }, (_, resource) => `r${resource}`).filter((id) => cache.get(id, "one", "1"));
  assert.ok(!kept.includes("r0") && kept.includes("r19"), kept.join(","));
  assert.equal(
    cache.bytes,
    kept.reduce((sum, id) => sum + resourceSize(id) + answerSize(100, "one"), 0),
  );
});

test("a request at another version drops all of the resource's answers; a late one at another version keeps nothing", () => {
  const cache = createAnswerCache(1 << 20);
  const body = new Uint8Array(10);
  cache.set("a", "one", "1", body);
  cache.set("a", "two", "1", body);
  cache.set("b", "one", "1", body);
  assert.equal(cache.get("a", "one", "2"), undefined);
  assert.equal(cache.get("a", "two", "1"), undefined);
  assert.equal(cache.get("b", "one", "1"), body);
  assert.equal(cache.bytes, resourceSize("b") + answerSize(10, "one"));
  // A request that read another version than the answers kept since its own `get` stores nothing.
  cache.set("b", "two", "2", body);
  assert.equal(cache.get("b", "one", "1"), body);
  assert.equal(cache.bytes, resourceSize("b") + answerSize(10, "one"));
  // Resources never answer for one another.
  assert.equal(cache.get("c", "one", "1"), undefined);
});
