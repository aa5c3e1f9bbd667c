import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, type TestContext, test } from "node:test";
import type { MessageVector, VectorStore } from "@session-bridge/core";
import { indexNameFor } from "../packages/server/src/memory/vector-index.ts";
import { openDatabase } from "../packages/server/src/storage/libsql/client.ts";
import type { SqlReader } from "../packages/server/src/storage/libsql/reader.ts";
import type { SqlValue } from "../packages/server/src/storage/libsql/sql-thread.ts";
import { libsqlScoresReproduced } from "../packages/server/src/storage/libsql/vector-cache.ts";
import { openLibsqlVectorStore } from "../packages/server/src/storage/libsql/vector-store.ts";

// Users' vectors held in memory for recall's searches (RECALL_CACHE_MB, vector-cache.ts):
// what a search reads, and that what it answers is what the statement answers, whoever
// wrote the file meanwhile.

const index = { embedderId: "test:hand-made", dimension: 4, indexName: indexNameFor("test:hand-made", 4) };

const vectorOf = (
  key: string,
  vector: number[],
  resourceId = "alice",
  sessionId = `${resourceId}-session`,
  chunk = 0,
) =>
  ({
    id: `${key}#${chunk}`,
    key,
    vector,
    sessionId,
    resourceId,
    role: "user",
    createdAt: new Date(0),
  }) satisfies MessageVector;

/**
 * Two vector stores on one memory file, each with its own connections: `held`
 * keeps users' vectors in memory (`cacheBytes`), `plain` searches with a
 * statement every time (as another process might write the file).
 */
async function openPair(
  t: TestContext,
  options: { cacheBytes?: number; exactUpTo?: number; wrapReader?: (reader: SqlReader) => SqlReader } = {},
) {
  const directory = await mkdtemp(path.join(tmpdir(), "session-bridge-recall-"));
  const file = path.join(directory, "memory.db");
  const closers: (() => Promise<void>)[] = [];
  // One hook, so every connection is closed before the folder goes.
  t.after(async () => {
    for (const close of closers.reverse()) await close();
    await rm(directory, { recursive: true, force: true });
  });
  const open = async (cacheBytes: number) => {
    const database = await openDatabase({ url: `file:${file}` });
    const thread = database.openThread();
    /** What the store sends to its read thread. */
    const reads: string[] = [];
    /** How many rows each of those statements answered. */
    const returned: number[] = [];
    /** Holds back the answers of the reads of users' vectors into memory while set (`read`: told once one has its rows). */
    const gate: { loads?: Promise<void>; read?: () => void } = {};
    const worker = {
      ...thread,
      all: async (sql: string, args: SqlValue[]) => {
        reads.push(sql);
        const rows = await thread.all(sql, args);
        returned.push(rows.length);
        if (sql.includes("t.embedding, NULL")) {
          gate.read?.();
          await gate.loads;
        }
        return rows;
      },
    };
    const vectors = await openLibsqlVectorStore({
      client: database.client,
      worker,
      reader: cacheBytes > 0 && options.wrapReader ? options.wrapReader(database.reader) : database.reader,
      cacheBytes,
      ...(options.exactUpTo === undefined ? {} : { exactUpTo: options.exactUpTo }),
    });
    closers.push(async () => {
      await vectors.close();
      await thread.close();
      database.close();
    });
    await vectors.ensureIndex(index);
    return { vectors, reads, returned, gate, client: database.client, reader: database.reader };
  };
  const held = await open(options.cacheBytes ?? 1024 * 1024);
  const plain = await open(0);
  return { held, plain };
}

/** A search's keys and how many statements it sent to the read thread. */
async function search(store: { vectors: VectorStore; reads: string[] }, query = [1, 0, 0, 0], resourceId = "alice") {
  store.reads.length = 0;
  const hits = await store.vectors.query(index.indexName, query, { topK: 4, resourceId });
  return { keys: hits.map((hit) => hit.key), reads: store.reads.length };
}

function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe("users' vectors held in memory for recall", () => {
  test("a user's vectors are read once; the store's own writes are taken in without a read; another connection's are read", async (t) => {
    const { held, plain } = await openPair(t);
    await held.vectors.upsert(index.indexName, [vectorOf("near", [1, 0.1, 0, 0]), vectorOf("far", [0, 1, 0, 0])]);
    assert.deepEqual(await search(held), { keys: ["near", "far"], reads: 1 });
    assert.deepEqual(await search(held), { keys: ["near", "far"], reads: 0 });
    // Written here: held at once (a turn's answer, then the next turn's search).
    await held.vectors.upsert(index.indexName, [
      vectorOf("nearest", [1, 0, 0, 0]),
      vectorOf("bobs", [1, 0, 0, 0], "bob"),
    ]);
    assert.deepEqual(await search(held), { keys: ["nearest", "near", "far"], reads: 0 });
    // Written again under the same id: replaced, not added.
    await held.vectors.upsert(index.indexName, [vectorOf("near", [-1, 0, 0, 0])]);
    assert.deepEqual(await search(held), { keys: ["nearest", "far", "near"], reads: 0 });
    // Another connection (another process) writes: the counters differ, the user's vectors are read again.
    await plain.vectors.upsert(index.indexName, [vectorOf("theirs", [1, 0.05, 0, 0])]);
    assert.deepEqual(await search(held), { keys: ["nearest", "theirs", "far", "near"], reads: 1 });
    await plain.vectors.deleteForMessages(["nearest"]);
    assert.deepEqual(await search(held), { keys: ["theirs", "far", "near"], reads: 1 });
    await held.vectors.deleteForSessions(["alice-session"]);
    assert.deepEqual(await search(held), { keys: [], reads: 1 });
    assert.deepEqual((await search(held, [1, 0, 0, 0], "bob")).keys, ["bobs"]);
  });

  test("a write elsewhere between the store's write and its look at the counters lets the held vectors go", async (t) => {
    let before: (() => Promise<void>) | undefined;
    const { held, plain } = await openPair(t, {
      // The counters are read on the serving thread: another process writes just before.
      wrapReader: (reader) => ({
        ...reader,
        async all(sql, args) {
          const writeFirst = before;
          before = undefined;
          await writeFirst?.();
          return reader.all(sql, args);
        },
      }),
    });
    await held.vectors.upsert(index.indexName, [vectorOf("first", [1, 0, 0, 0])]);
    assert.deepEqual(await search(held), { keys: ["first"], reads: 1 });
    before = () => plain.vectors.upsert(index.indexName, [vectorOf("theirs", [0, 0, 1, 0])]);
    await held.vectors.upsert(index.indexName, [vectorOf("mine", [0, 1, 0, 0])]);
    assert.equal(before, undefined, "the other write came between");
    assert.deepEqual(await search(held, [0, 0, 1, 0]), { keys: ["theirs", "first", "mine"], reads: 1 });
    assert.deepEqual(await search(held, [0, 0, 1, 0]), { keys: ["theirs", "first", "mine"], reads: 0 });
  });

  test("answers as the statement does, score for score, whoever writes: one hit per message, ties, sessions, exclusions, moved rows", async (t) => {
    const { held, plain } = await openPair(t);
    const random = seeded(11);
    const vector = () => Array.from({ length: 4 }, () => Math.round((random() - 0.5) * 8) / 4);
    let written = 0;
    const batch = (size: number) =>
      Array.from({ length: size }, () => {
        const position = written++;
        // Chunks of one message (same key, other ids), equal vectors (ties), three sessions, two users.
        return vectorOf(
          `m-${position % 70}`,
          vector(),
          position % 5 === 0 ? "bob" : "alice",
          `${position % 5 === 0 ? "bob" : "alice"}-s${position % 3}`,
          Math.floor(position / 70),
        );
      });
    for (let round = 0; round < 40; round++) {
      // Written here (taken in), or elsewhere (read again); now and then a message moves to the other user.
      const writer = round % 3 === 2 ? plain : held;
      const rows = batch(1 + (round % 4));
      if (round % 7 === 6) rows.push({ ...vectorOf("m-3", vector(), round % 2 === 0 ? "bob" : "alice") });
      await writer.vectors.upsert(index.indexName, rows);
      const resourceId = round % 4 === 0 ? "bob" : "alice";
      const query = vector();
      const options = {
        topK: 1 + (round % 6),
        resourceId,
        ...(round % 2 === 0 ? { sessionId: `${resourceId}-s${round % 3}` } : {}),
        exclusions: { exclude: [`m-${round % 70}`, `m-${(round + 7) % 70}`] },
      };
      assert.deepEqual(
        await held.vectors.query(index.indexName, query, options),
        await plain.vectors.query(index.indexName, query, options),
        `round ${round}`,
      );
      const keys = ["m-1", "m-2", "m-3", "m-40", "m-69", "missing"];
      assert.deepEqual(
        await held.vectors.similarity(index.indexName, query, keys, resourceId),
        await plain.vectors.similarity(index.indexName, query, keys, resourceId),
      );
    }
    // The searches after the store's own writes came from memory.
    await held.vectors.upsert(index.indexName, batch(2));
    held.reads.length = 0;
    await held.vectors.query(index.indexName, vector(), { topK: 4, resourceId: "alice" });
    assert.equal(held.reads.length, 0);
  });

  test("at 512 dimensions the scores are the statement's own, to the last bit", async (t) => {
    const wide = { embedderId: "test:wide", dimension: 512, indexName: indexNameFor("test:wide", 512) };
    const { held, plain } = await openPair(t);
    await held.vectors.ensureIndex(wide);
    const random = seeded(5);
    const vector = () => Array.from({ length: 512 }, () => random() - 0.5);
    await held.vectors.upsert(
      wide.indexName,
      Array.from({ length: 60 }, (_, position) => vectorOf(`w-${position}`, vector())),
    );
    for (let round = 0; round < 10; round++) {
      const query = vector();
      const options = { topK: 10, resourceId: "alice" };
      const found = await held.vectors.query(wide.indexName, query, options);
      assert.deepEqual(found, await plain.vectors.query(wide.indexName, query, options));
      assert.equal(found.length, 10);
    }
    held.reads.length = 0;
    await held.vectors.query(wide.indexName, vector(), { topK: 4, resourceId: "alice" });
    assert.equal(held.reads.length, 0, "searched in memory");
  });

  test("writes at once, a search between them, a write that fails part way: every answer is the statement's", async (t) => {
    const { held, plain } = await openPair(t);
    const query = [1, 0.3, 0.2, 0.1];
    const options = { topK: 6, resourceId: "alice" };
    const same = async () =>
      assert.deepEqual(
        await held.vectors.query(index.indexName, query, options),
        await plain.vectors.query(index.indexName, query, options),
      );
    await held.vectors.upsert(index.indexName, [vectorOf("a", [1, 0, 0, 0])]);
    await same();
    const searched = held.vectors.query(index.indexName, query, options);
    await Promise.all([
      held.vectors.upsert(index.indexName, [vectorOf("b", [0, 1, 0, 0]), vectorOf("c", [0.5, 0.5, 0, 0])]),
      held.vectors.upsert(index.indexName, [vectorOf("d", [0, 0, 1, 0])]),
      plain.vectors.upsert(index.indexName, [vectorOf("e", [0, 0, 0, 1])]),
      searched,
    ]);
    await same();
    // Twenty vectors, written sixteen at a time: the second batch fails (a vector of another length).
    const many = Array.from({ length: 20 }, (_, position) => vectorOf(`f-${position}`, [1, position / 20, 0, 0]));
    many[18] = vectorOf("f-18", [1, 0, 0]);
    await assert.rejects(held.vectors.upsert(index.indexName, many));
    await same();
    assert.equal((await held.vectors.query(index.indexName, query, { topK: 40, resourceId: "alice" })).length, 21);
  });

  test("an index dropped and made again, here or by another connection, is read afresh", async (t) => {
    const { held, plain } = await openPair(t);
    await held.vectors.upsert(index.indexName, [vectorOf("old", [1, 0, 0, 0])]);
    assert.deepEqual(await search(held), { keys: ["old"], reads: 1 });
    await held.vectors.dropIndex(index.indexName);
    await held.vectors.ensureIndex(index);
    await held.vectors.upsert(index.indexName, [vectorOf("new", [1, 0, 0, 0])]);
    assert.deepEqual((await search(held)).keys, ["new"]);
    assert.deepEqual(await search(held), { keys: ["new"], reads: 0 });
    await plain.vectors.dropIndex(index.indexName);
    await plain.vectors.ensureIndex(index);
    await plain.vectors.upsert(index.indexName, [vectorOf("newer", [1, 0, 0, 0])]);
    assert.deepEqual(await search(held), { keys: ["newer"], reads: 1 });
  });

  test("a user with more vectors than exactUpTo is searched with statements, and not read into memory again", async (t) => {
    const { held } = await openPair(t, { exactUpTo: 2 });
    await held.vectors.upsert(index.indexName, [
      vectorOf("a", [1, 0, 0, 0]),
      vectorOf("b", [0, 1, 0, 0]),
      vectorOf("c", [0, 0, 1, 0]),
    ]);
    const query = [1, 0.5, 0.2, 0];
    const first = await search(held, query);
    assert.deepEqual(first.keys, ["a", "b", "c"]);
    // The read that found three, then the statement's search (the index, then the exact one).
    assert.ok(first.reads >= 2);
    const second = await search(held, query);
    assert.deepEqual(second.keys, ["a", "b", "c"]);
    assert.equal(second.reads, first.reads - 1, "no read into memory");
    // Fewer again (deleted here): held again.
    await held.vectors.deleteForMessages(["c"]);
    assert.deepEqual(await search(held, query), { keys: ["a", "b"], reads: 1 });
    assert.deepEqual(await search(held, query), { keys: ["a", "b"], reads: 0 });
  });

  test("a user the store writes past exactUpTo is searched with statements from then on", async (t) => {
    const { held } = await openPair(t, { exactUpTo: 3 });
    await held.vectors.upsert(index.indexName, [vectorOf("a", [1, 0, 0, 0]), vectorOf("b", [0.9, 0.1, 0, 0])]);
    assert.deepEqual(await search(held), { keys: ["a", "b"], reads: 1 });
    await held.vectors.upsert(index.indexName, [vectorOf("c", [0.8, 0.2, 0, 0]), vectorOf("d", [0.7, 0.3, 0, 0])]);
    // The count and exact search in one statement, then the index (which finds all four).
    assert.deepEqual(await search(held), { keys: ["a", "b", "c", "d"], reads: 2 });
    assert.deepEqual(await search(held), { keys: ["a", "b", "c", "d"], reads: 2 });
  });

  test("a user whose vectors need more than the cache's bytes is searched with statements; their rows are not read into memory", async (t) => {
    const { held } = await openPair(t, { cacheBytes: 1_000 });
    await held.vectors.upsert(
      index.indexName,
      Array.from({ length: 5 }, (_, position) => vectorOf(`a-${position}`, [1, position, 0, 0])),
    );
    held.returned.length = 0;
    const first = await search(held);
    assert.equal(first.keys.length, 4);
    assert.equal(first.reads, 2, "a count, then the statement's search");
    assert.equal(held.returned[0], 1, "the count's row alone: no vector was read into memory");
    assert.deepEqual(await search(held), { keys: first.keys, reads: 1 });
  });

  test("within its bytes: the least recently searched user's vectors go first", async (t) => {
    // Room for one user's five vectors (~1.7 kB as counted), not two users'.
    const { held } = await openPair(t, { cacheBytes: 2_500 });
    await held.vectors.upsert(index.indexName, [
      ...Array.from({ length: 5 }, (_, position) => vectorOf(`a-${position}`, [1, position, 0, 0])),
      ...Array.from({ length: 5 }, (_, position) => vectorOf(`b-${position}`, [1, position, 0, 0], "bob")),
    ]);
    assert.equal((await search(held)).reads, 1);
    assert.equal((await search(held)).reads, 0);
    assert.equal((await search(held, [1, 0, 0, 0], "bob")).reads, 1);
    assert.equal((await search(held, [1, 0, 0, 0], "bob")).reads, 0);
    assert.equal((await search(held)).reads, 1, "alice's went to make room for bob's");
    assert.equal((await search(held, [1, 0, 0, 0], "bob")).reads, 1, "bob's went to make room for alice's");
    assert.equal((await search(held, [1, 0, 0, 0], "bob")).reads, 0);
  });

  test("room for both: both stay held, searched in turn", async (t) => {
    const { held } = await openPair(t, { cacheBytes: 5_000 });
    await held.vectors.upsert(index.indexName, [vectorOf("a", [1, 0, 0, 0]), vectorOf("b", [1, 0, 0, 0], "bob")]);
    for (const [user, reads] of [
      ["alice", 1],
      ["bob", 1],
      ["alice", 0],
      ["bob", 0],
      ["alice", 0],
    ] as const) {
      assert.equal((await search(held, [1, 0, 0, 0], user)).reads, reads, user);
    }
  });

  test("while a trigger is missing, every search is a statement; made again, vectors are held again", async (t) => {
    const { held } = await openPair(t);
    await held.vectors.upsert(index.indexName, [vectorOf("a", [1, 0, 0, 0])]);
    assert.deepEqual(await search(held), { keys: ["a"], reads: 1 });
    await held.client.execute(`DROP TRIGGER session_bridge_vector_versions_v1_${index.indexName}_insert`);
    // Not counted: only a statement sees it.
    await held.client.execute({
      sql: `INSERT INTO ${index.indexName} (vector_id, embedding, metadata) VALUES ('b#0', vector32('[1, 0.1, 0, 0]'), json_object('message_id', 'b', 'thread_id', 'alice-session', 'resource_id', 'alice'))`,
      args: [],
    });
    assert.deepEqual(await search(held), { keys: ["a", "b"], reads: 1 });
    assert.deepEqual(await search(held), { keys: ["a", "b"], reads: 1 });
    await held.vectors.ensureIndex(index);
    assert.deepEqual(await search(held), { keys: ["a", "b"], reads: 1 });
    assert.deepEqual(await search(held), { keys: ["a", "b"], reads: 0 });
  });

  test("a search that joins a read begun before another connection's write does not take the older vectors", async (t) => {
    const { held, plain } = await openPair(t);
    await held.vectors.upsert(index.indexName, [vectorOf("first", [1, 0, 0, 0])]);
    let open!: () => void;
    held.gate.loads = new Promise((resolve) => {
      open = resolve;
    });
    const read = new Promise<void>((resolve) => {
      held.gate.read = resolve;
    });
    // The first search's read of alice's vectors has its rows, and waits to be answered.
    const firstSearch = held.vectors.query(index.indexName, [1, 0, 0, 0], { topK: 4, resourceId: "alice" });
    await read;
    await plain.vectors.upsert(index.indexName, [vectorOf("second", [0.9, 0.1, 0, 0])]);
    const secondSearch = held.vectors.query(index.indexName, [1, 0, 0, 0], { topK: 4, resourceId: "alice" });
    await new Promise((resolve) => setImmediate(resolve));
    held.gate.loads = undefined;
    open();
    assert.deepEqual(
      (await firstSearch).map((hit) => hit.key),
      ["first"],
      "read before the write",
    );
    assert.deepEqual(
      (await secondSearch).map((hit) => hit.key),
      ["first", "second"],
    );
  });

  test("where 32-bit sums order messages otherwise than exact ones would, the order is the statement's", async (t) => {
    const wide = { embedderId: "test:wide", dimension: 512, indexName: indexNameFor("test:wide", 512) };
    const { held, plain } = await openPair(t);
    await held.vectors.ensureIndex(wide);
    const random = seeded(23);
    const base = Array.from({ length: 512 }, () => random() - 0.5);
    // Forty vectors a hair apart: their scores differ in the last bits only.
    const stored = Array.from({ length: 40 }, (_, position) => ({
      key: `n-${position}`,
      values: base.map((value) => Math.fround(value + (random() - 0.5) * 1e-6)),
    }));
    await held.vectors.upsert(
      wide.indexName,
      stored.map(({ key, values }) => vectorOf(key, values)),
    );
    const cosine = (a: number[], b: number[]) =>
      a.reduce((sum, value, position) => sum + value * (b[position] as number), 0) /
      Math.sqrt(a.reduce((sum, value) => sum + value * value, 0) * b.reduce((sum, value) => sum + value * value, 0));
    let differing = 0;
    for (let round = 0; round < 30; round++) {
      const query = base.map((value) => Math.fround(value + (random() - 0.5) * 1e-3));
      const options = { topK: 1, resourceId: "alice" };
      const [statement] = await plain.vectors.query(wide.indexName, query, options);
      const exact = [...stored].sort((a, b) => cosine(query, b.values) - cosine(query, a.values))[0];
      if (exact?.key !== statement?.key) differing++;
      assert.deepEqual(await held.vectors.query(wide.indexName, query, options), [statement], `round ${round}`);
    }
    assert.ok(differing > 0, "some rounds' best message differs between exact sums and 32-bit ones");
  });

  test("zero vectors (a NULL score) rank last and score 0, stored or asked", async (t) => {
    const { held, plain } = await openPair(t);
    await held.vectors.upsert(index.indexName, [
      vectorOf("zero", [0, 0, 0, 0]),
      vectorOf("against", [-1, 0, 0, 0]),
      vectorOf("along", [1, 0, 0, 0]),
    ]);
    for (const query of [
      [1, 0, 0, 0],
      [0, 0, 0, 0],
    ]) {
      const options = { topK: 10, resourceId: "alice" };
      const found = await held.vectors.query(index.indexName, query, options);
      assert.deepEqual(found, await plain.vectors.query(index.indexName, query, options));
      assert.equal(found.length, 3);
      const keys = ["zero", "along", "against"];
      assert.deepEqual(
        await held.vectors.similarity(index.indexName, query, keys, "alice"),
        await plain.vectors.similarity(index.indexName, query, keys, "alice"),
      );
    }
    assert.deepEqual(
      (await held.vectors.query(index.indexName, [1, 0, 0, 0], { topK: 10, resourceId: "alice" })).map((hit) => [
        hit.key,
        hit.score,
      ]),
      [
        ["along", 1],
        ["against", -1],
        ["zero", 0],
      ],
    );
    assert.equal((await search(held)).reads, 0, "searched in memory");
  });

  test("a vector holding a value that is not a finite number is refused before anything is written", async (t) => {
    const { held } = await openPair(t);
    await assert.rejects(
      held.vectors.upsert(index.indexName, [vectorOf("fine", [1, 0, 0, 0]), vectorOf("broken", [1, Number.NaN, 0, 0])]),
      /not a finite number/,
    );
    assert.deepEqual((await search(held)).keys, []);
  });

  test("libSQL's scores are reproduced bit for bit on this machine (else no vectors would be held)", async (t) => {
    const { held } = await openPair(t);
    assert.equal(await libsqlScoresReproduced(held.reader), true);
  });
});
