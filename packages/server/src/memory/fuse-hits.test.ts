import assert from "node:assert/strict";
import { test } from "node:test";
import { fuseHits } from "./fuse-hits.ts";

const vector = (key: string, score: number) => ({ key, sessionId: "s", resourceId: "u", score });
const keyword = (key: string) => ({ key, sessionId: "s" });

test("a hit both channels found comes first; then the channels' hits alternate, vector first", () => {
  const fused = fuseHits(
    [vector("v1", 0.9), vector("both", 0.8), vector("v3", 0.7), vector("v4", 0.6)],
    [keyword("k1"), keyword("both"), keyword("k3")],
    4,
  );
  assert.deepEqual(
    fused.map((hit) => [hit.key, hit.foundBy.join("+")]),
    [
      ["both", "vector+keyword"],
      ["v1", "vector"],
      ["k1", "keyword"],
      ["v3", "vector"],
    ],
  );
  assert.equal(fused[0]?.score, 0.8, "a vector hit keeps its cosine score");
  assert.equal(fused[2]?.score, undefined, "a keyword-only hit has none yet");
});

test("without keyword hits the vector hits come back as they were", () => {
  const hits = [vector("a", 0.9), vector("b", 0.5)];
  assert.deepEqual(
    fuseHits(hits, [], 4).map((hit) => [hit.key, hit.score, hit.foundBy]),
    [
      ["a", 0.9, ["vector"]],
      ["b", 0.5, ["vector"]],
    ],
  );
  assert.deepEqual(
    fuseHits([], [keyword("k")], 4).map((hit) => hit.foundBy),
    [["keyword"]],
  );
});
