import assert from "node:assert/strict";
import { describe, type TestContext, test } from "node:test";
import type { MessageVector, RecallExclusions, VectorHit, VectorIndexInfo, VectorStore } from "@session-bridge/core";
import { indexNameFor } from "../../packages/server/src/memory/vector-index.ts";
import { at, makeThread, userMessage } from "./_messages.ts";
import type { StorageBackend } from "./backend.ts";

const index: VectorIndexInfo = {
  embedderId: "test:hand-made",
  dimension: 4,
  indexName: indexNameFor("test:hand-made", 4),
};
const otherIndex: VectorIndexInfo = {
  embedderId: "test:other",
  dimension: 3,
  indexName: indexNameFor("test:other", 3),
};

async function openVectors(backend: StorageBackend, t: TestContext): Promise<VectorStore> {
  const { memory } = await backend.open(t);
  await memory.vectors.ensureIndex(index);
  return memory.vectors;
}

const vectorOf = (
  key: string,
  vector: number[],
  fields: Partial<Omit<MessageVector, "key" | "vector">> = {},
): MessageVector => ({
  id: `${key}#0`,
  vector,
  key,
  sessionId: "session-1",
  resourceId: "alice",
  role: "user",
  createdAt: new Date("2026-01-01T00:00:00.000Z"),
  ...fields,
});

/** Hits with their scores rounded: vectors may be stored as 32-bit floats. */
const rounded = (hits: VectorHit[]) => hits.map((hit) => ({ ...hit, score: Math.round(hit.score * 1e4) / 1e4 }));
const keys = (hits: VectorHit[]) => hits.map((hit) => hit.key);

/** The {@link VectorStore} contract: message vectors in per-embedder indexes, searched by cosine similarity. */
export function describeVectorStore(backend: StorageBackend) {
  describe(`vector store on ${backend.name}`, () => {
    test("creates an index once; creating it again keeps its vectors", async (t) => {
      const vectors = await openVectors(backend, t);
      await vectors.upsert(index.indexName, [vectorOf("k1", [1, 0, 0, 0])]);
      await vectors.ensureIndex(index);
      assert.deepEqual(await vectors.listIndexes(), [index.indexName]);
      assert.deepEqual(keys(await vectors.query(index.indexName, [1, 0, 0, 0], { topK: 5, resourceId: "alice" })), [
        "k1",
      ]);
      await vectors.ensureIndex(otherIndex);
      assert.deepEqual((await vectors.listIndexes()).sort(), [index.indexName, otherIndex.indexName].sort());
    });

    test("finds the resource's nearest vectors first, scored by cosine similarity", async (t) => {
      const vectors = await openVectors(backend, t);
      await vectors.upsert(index.indexName, [
        vectorOf("orthogonal", [0, 0, 3, 0]),
        vectorOf("same", [2, 0, 0, 0], { sessionId: "session-2", role: "assistant" }),
        vectorOf("close", [0.8, 0.6, 0, 0]),
        vectorOf("away", [-0.6, 0.8, 0, 0]),
        vectorOf("bobs", [1, 0, 0, 0], { resourceId: "bob" }),
      ]);
      const hits = await vectors.query(index.indexName, [1, 0, 0, 0], { topK: 3, resourceId: "alice" });
      assert.deepEqual(rounded(hits), [
        { key: "same", sessionId: "session-2", resourceId: "alice", score: 1 },
        { key: "close", sessionId: "session-1", resourceId: "alice", score: 0.8 },
        { key: "orthogonal", sessionId: "session-1", resourceId: "alice", score: 0 },
      ]);
      const all = await vectors.query(index.indexName, [1, 0, 0, 0], { topK: 10, resourceId: "alice" });
      assert.deepEqual(rounded(all).at(-1), { key: "away", sessionId: "session-1", resourceId: "alice", score: -0.6 });
      assert.deepEqual(keys(await vectors.query(index.indexName, [1, 0, 0, 0], { topK: 10, resourceId: "bob" })), [
        "bobs",
      ]);
      assert.deepEqual(await vectors.query(index.indexName, [1, 0, 0, 0], { topK: 10, resourceId: "carol" }), []);
    });

    test("a message with several chunk vectors is one hit, scored by its best chunk: it crowds out no other message", async (t) => {
      const vectors = await openVectors(backend, t);
      await vectors.upsert(index.indexName, [
        { ...vectorOf("long", [1, 0, 0, 0]), id: "long#0" },
        { ...vectorOf("long", [0.99, 0.1, 0, 0]), id: "long#1" },
        { ...vectorOf("long", [0.98, 0.2, 0, 0]), id: "long#2" },
        vectorOf("short", [0.8, 0.6, 0, 0]),
        vectorOf("far", [0, 1, 0, 0]),
      ]);
      const hits = await vectors.query(index.indexName, [1, 0, 0, 0], { topK: 2, resourceId: "alice" });
      assert.deepEqual(rounded(hits), [
        { key: "long", sessionId: "session-1", resourceId: "alice", score: 1 },
        { key: "short", sessionId: "session-1", resourceId: "alice", score: 0.8 },
      ]);
    });

    test("finds a user's nearest vectors even when hundreds of another user's are nearer", async (t) => {
      const vectors = await openVectors(backend, t);
      await vectors.upsert(
        index.indexName,
        Array.from({ length: 300 }, (_, position) =>
          vectorOf(`bob-${position}`, [1, position / 1000, 0, 0], { resourceId: "bob" }),
        ),
      );
      await vectors.upsert(index.indexName, [vectorOf("mine", [0.6, 0.8, 0, 0]), vectorOf("also", [0, 1, 0, 0])]);
      const hits = await vectors.query(index.indexName, [1, 0, 0, 0], { topK: 4, resourceId: "alice" });
      assert.deepEqual(keys(hits), ["mine", "also"]);
    });

    test("scores given messages of the resource by their best chunk", async (t) => {
      const vectors = await openVectors(backend, t);
      await vectors.upsert(index.indexName, [
        vectorOf("long", [0, 1, 0, 0]),
        { ...vectorOf("long", [1, 0, 0, 0]), id: "long#1" },
        vectorOf("short", [0.6, 0.8, 0, 0]),
        vectorOf("bobs", [1, 0, 0, 0], { resourceId: "bob" }),
      ]);
      const scores = await vectors.similarity(
        index.indexName,
        [1, 0, 0, 0],
        ["long", "short", "bobs", "none"],
        "alice",
      );
      assert.deepEqual([...scores].map(([key, score]) => [key, Math.round(score * 1e4) / 1e4]).sort(), [
        ["long", 1],
        ["short", 0.6],
      ]);
      assert.deepEqual(await vectors.similarity(index.indexName, [1, 0, 0, 0], [], "alice"), new Map());
    });

    test("leaves out the turn's new messages and the asking session's newest visible messages", async (t) => {
      const { memory } = await backend.open(t);
      await memory.vectors.ensureIndex(index);
      const asking = await makeThread(memory.messages);
      const older = await makeThread(memory.messages);
      const stored = [
        asking.stored(userMessage("a1", "oldest of the asking session"), at(0)),
        asking.stored(userMessage("a2", "newest of the asking session"), at(1)),
        asking.stored(userMessage("a3", "a running answer"), at(2), true),
        asking.stored(userMessage("new", "the turn's own message"), at(3)),
      ];
      await memory.messages.save(stored, { pending: false, now: at(3) });
      await memory.messages.save([older.stored(userMessage("o1", "older"), at(0))], { pending: false, now: at(0) });
      const vector = (key: string, sessionId: string, values: number[]) => ({
        ...vectorOf(key, values, { sessionId }),
      });
      const [a1, a2, a3, own] = stored.map((item) => item.key);
      const o1 = older.stored(userMessage("o1", ""), at(0)).key;
      await memory.vectors.upsert(index.indexName, [
        vector(a1 as string, asking.sessionId, [1, 0, 0, 0]),
        vector(a2 as string, asking.sessionId, [1, 0.1, 0, 0]),
        vector(a3 as string, asking.sessionId, [1, 0.2, 0, 0]),
        vector(own as string, asking.sessionId, [1, 0.3, 0, 0]),
        vector(o1, older.sessionId, [1, 0.4, 0, 0]),
      ]);
      const found = async (exclusions?: RecallExclusions) =>
        keys(
          await memory.vectors.query(index.indexName, [1, 0, 0, 0], {
            topK: 10,
            resourceId: "alice",
            ...(exclusions ? { exclusions } : {}),
          }),
        );
      assert.deepEqual(await found(), [a1, a2, a3, own, o1]);
      // The newest visible message of the session outside `exclude` is a2 (a3 is running).
      assert.deepEqual(await found({ exclude: [own as string], newestOf: { sessionId: asking.sessionId, last: 1 } }), [
        a1,
        a3,
        o1,
      ]);
      assert.deepEqual(await found({ exclude: [], newestOf: { sessionId: asking.sessionId, last: 10 } }), [a3, o1]);
    });

    test("finds only one session's vectors when asked", async (t) => {
      const vectors = await openVectors(backend, t);
      await vectors.upsert(index.indexName, [
        vectorOf("first", [1, 0, 0, 0], { sessionId: "session-1" }),
        vectorOf("second", [1, 0.1, 0, 0], { sessionId: "session-2" }),
        vectorOf("bobs", [1, 0, 0, 0], { sessionId: "session-2", resourceId: "bob" }),
      ]);
      const hits = await vectors.query(index.indexName, [1, 0, 0, 0], {
        topK: 10,
        resourceId: "alice",
        sessionId: "session-2",
      });
      assert.deepEqual(keys(hits), ["second"]);
    });

    test("writing a vector id again replaces it", async (t) => {
      const vectors = await openVectors(backend, t);
      await vectors.upsert(index.indexName, [vectorOf("k1", [1, 0, 0, 0]), vectorOf("k2", [0, 0, 0, 1])]);
      await vectors.upsert(index.indexName, [vectorOf("k1", [0, 1, 0, 0], { sessionId: "session-9" })]);
      const hits = await vectors.query(index.indexName, [0, 1, 0, 0], { topK: 10, resourceId: "alice" });
      assert.deepEqual(rounded(hits), [
        { key: "k1", sessionId: "session-9", resourceId: "alice", score: 1 },
        { key: "k2", sessionId: "session-1", resourceId: "alice", score: 0 },
      ]);
      await vectors.upsert(index.indexName, []);
    });

    test("deletes the vectors of messages, and of sessions, from every index", async (t) => {
      const vectors = await openVectors(backend, t);
      await vectors.ensureIndex(otherIndex);
      const write = (name: string, vector: number[]) =>
        vectors.upsert(name, [
          vectorOf("m1", vector, { sessionId: "s1" }),
          { ...vectorOf("m1", vector, { sessionId: "s1" }), id: "m1#1" },
          vectorOf("m2", vector, { sessionId: "s1" }),
          vectorOf("m3", vector, { sessionId: "s2" }),
          vectorOf("m4", vector, { sessionId: "s3" }),
        ]);
      await write(index.indexName, [1, 0, 0, 0]);
      await write(otherIndex.indexName, [1, 0, 0]);
      const left = async () => [
        keys(await vectors.query(index.indexName, [1, 0, 0, 0], { topK: 10, resourceId: "alice" })).sort(),
        keys(await vectors.query(otherIndex.indexName, [1, 0, 0], { topK: 10, resourceId: "alice" })).sort(),
      ];
      await vectors.deleteForMessages(["m1", "unknown"]);
      assert.deepEqual(await left(), [
        ["m2", "m3", "m4"],
        ["m2", "m3", "m4"],
      ]);
      await vectors.deleteForSessions(["s1", "s2"]);
      assert.deepEqual(await left(), [["m4"], ["m4"]]);
      await vectors.deleteForMessages([]);
      await vectors.deleteForSessions([]);
    });

    test("drops an index", async (t) => {
      const vectors = await openVectors(backend, t);
      await vectors.ensureIndex(otherIndex);
      await vectors.upsert(index.indexName, [vectorOf("k1", [1, 0, 0, 0])]);
      await vectors.dropIndex(index.indexName);
      assert.deepEqual(await vectors.listIndexes(), [otherIndex.indexName]);
      await vectors.ensureIndex(index);
      assert.deepEqual(await vectors.query(index.indexName, [1, 0, 0, 0], { topK: 10, resourceId: "alice" }), []);
    });

    test("reads, writes and deletes its records", async (t) => {
      const vectors = await openVectors(backend, t);
      assert.equal(await vectors.readMeta("active"), undefined);
      await vectors.writeMeta("active", index);
      await vectors.writeMeta("reindex", { cursor: { createdAt: "2026-01-01T00:00:00.000Z", id: "k" }, done: 3 });
      assert.deepEqual(await vectors.readMeta("active"), index);
      await vectors.writeMeta("active", otherIndex);
      assert.deepEqual(await vectors.readMeta("active"), otherIndex);
      await vectors.deleteMeta("active");
      assert.equal(await vectors.readMeta("active"), undefined);
      assert.deepEqual(await vectors.readMeta("reindex"), {
        cursor: { createdAt: "2026-01-01T00:00:00.000Z", id: "k" },
        done: 3,
      });
    });
  });
}
