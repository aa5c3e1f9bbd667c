import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { describe, type TestContext, test } from "node:test";
import { fileURLToPath } from "node:url";
import type { InValue } from "@libsql/client";
import { v7 as uuidv7 } from "uuid";
import { indexNameFor } from "../packages/server/src/memory/vector-index.ts";
import { openDatabase } from "../packages/server/src/storage/libsql/client.ts";
import { openLibsqlMemoryStorage, openLibsqlStorage } from "../packages/server/src/storage/libsql/libsql-storage.ts";
import { createLibsqlMessageStore } from "../packages/server/src/storage/libsql/message-store.ts";
import type { SqlValue } from "../packages/server/src/storage/libsql/sql-thread.ts";
import { openLibsqlVectorStore } from "../packages/server/src/storage/libsql/vector-store.ts";
import { makeClock, makeTempDir } from "./_setup.ts";
import { newTurn, turnTrace } from "./storage/_fixtures.ts";
import { at, makeThread, userMessage } from "./storage/_messages.ts";

// What only libSQL has: its rows, its schema, separate processes on one file.
// The behaviour every backend shares is in test/storage/*.suite.ts (run by storage-libsql.test.ts).

async function openStorage(t: TestContext) {
  const file = path.join(await makeTempDir(t), "app.db");
  const storage = await openLibsqlStorage({ url: `file:${file}`, clock: makeClock(), generateId: () => uuidv7() });
  t.after(() => storage.close());
  await storage.migrate();
  const { client } = storage.database;
  const count = async (sql: string, args: string[] = []) =>
    Number((await client.execute({ sql, args })).rows[0]?.count ?? 0);
  return { storage, client, count, file };
}

const insertRaw =
  "INSERT INTO tool_sessions (tool_session_id, session_id, tool_name, tool_key, created_at, last_accessed) VALUES (?, ?, ?, ?, 0, 0)";

describe("libSQL storage", () => {
  test("the database refuses a second raw tool session row for the same triple, NULL key included", async (t) => {
    const { storage, client, count } = await openStorage(t);
    const session = await storage.sessions.create("alice");
    await client.execute(insertRaw, [uuidv7(), session.id, "sequentialThinking", null]);
    await assert.rejects(client.execute(insertRaw, [uuidv7(), session.id, "sequentialThinking", null]), /UNIQUE/);
    await client.execute(insertRaw, [uuidv7(), session.id, "search_docs", "k1"]);
    await assert.rejects(client.execute(insertRaw, [uuidv7(), session.id, "search_docs", "k1"]), /UNIQUE/);
    assert.equal(await count("SELECT count(*) AS count FROM tool_sessions"), 2);
  });

  test("returns the same tool session to 50 concurrent callers in two separate processes", async (t) => {
    const { storage, count, file } = await openStorage(t);
    const session = await storage.sessions.create("alice");
    const worker = fileURLToPath(new URL("./fixtures/get-or-create-worker.ts", import.meta.url));
    const children = [0, 1].map(() =>
      spawn(process.execPath, ["--import", "tsx", worker, file, session.id, "25"], {
        stdio: ["pipe", "pipe", "inherit"],
      }),
    );
    // Listen for the exits now: a child may finish before the test would get to them.
    const exits = children.map((child) => once(child, "exit"));
    t.after(() => {
      for (const child of children) child.kill();
    });
    const lines = children.map((child) => createInterface({ input: child.stdout })[Symbol.asyncIterator]());
    for (const line of lines) assert.equal((await line.next()).value, "ready");
    for (const child of children) child.stdin.end("go\n");
    const ids = (await Promise.all(lines.map(async (line) => JSON.parse(String((await line.next()).value)))))
      .flat()
      .map(String);
    await Promise.all(exits);
    assert.equal(ids.length, 50);
    assert.equal(new Set(ids).size, 1);
    assert.equal(await count("SELECT count(*) AS count FROM tool_sessions"), 1);
  });

  test("deleting a session leaves no row of it in any table", async (t) => {
    const { storage, count } = await openStorage(t);
    const session = await storage.sessions.create("alice");
    await storage.toolSessions.getOrCreate(session.id, "sequentialThinking", null);
    await storage.memories.add("alice", { scope: "session", sessionId: session.id, text: "Be brief" });
    const turn = newTurn(session.id);
    await storage.turns.begin(turn);
    await storage.turns.append(turn.id, 0, [{ type: "text-delta", id: "t1", delta: "hi" }]);
    await storage.traces.save(session.id, turnTrace(new Date(), { id: turn.id }));
    assert.equal(await storage.sessions.delete("alice", session.id), true);
    for (const table of ["tool_sessions", "memories", "turns", "turn_traces"]) {
      assert.equal(await count(`SELECT count(*) AS count FROM ${table} WHERE session_id = ?`, [session.id]), 0, table);
    }
    assert.equal(await count("SELECT count(*) AS count FROM turn_chunks WHERE turn_id = ?", [turn.id]), 0);
  });

  test("a turn's end, written on its own thread's connection, stores integers and JSON text, and writes nothing for a deleted session", async (t) => {
    const { storage, client, count } = await openStorage(t);
    const { turns } = storage;
    const ending = async (sessionId: string, leaseId: string) => {
      const turn = newTurn(sessionId, { leaseId });
      await turns.begin(turn);
      return {
        turnId: turn.id,
        status: "complete" as const,
        lastBatch: { seq: 0, chunks: [{ type: "finish" as const }] },
        trace: { sessionId, trace: turnTrace(new Date("2026-03-01T10:00:00.000Z"), { id: turn.id }) },
        usage: { resourceId: "alice", model: "local:demo", inputTokens: 3, outputTokens: 4 },
        lease: { sessionId, leaseId },
      };
    };
    const session = await storage.sessions.create("alice");
    assert.equal(await turns.end(await ending(session.id, uuidv7())), true);
    const [row] = (
      await client.execute(
        `SELECT typeof(t.ended_at) AS ended, tr.started_at AS started, typeof(tr.started_at) AS startedType,
          json_type(tr.trace) AS trace, c.chunks AS chunks FROM turns t JOIN turn_traces tr ON tr.id = t.id JOIN turn_chunks c ON c.turn_id = t.id`,
      )
    ).rows;
    assert.deepEqual(
      { ...row },
      {
        ended: "integer",
        started: Date.parse("2026-03-01T10:00:00.000Z"),
        startedType: "integer",
        trace: "object",
        chunks: '[{"type":"finish"}]',
      },
    );

    // Foreign keys hold on that connection too: a session deleted before its turn's end takes the whole end.
    const gone = await storage.sessions.create("alice");
    const late = await ending(gone.id, uuidv7());
    await storage.sessions.delete("alice", gone.id);
    await assert.rejects(turns.end(late), /FOREIGN KEY/);
    assert.equal(await count("SELECT count(*) AS count FROM turn_chunks"), 1);
    assert.equal(await count("SELECT count(*) AS count FROM turn_traces"), 1);
    assert.deepEqual(
      (await storage.usage.list("alice")).map((day) => day.turns),
      [1],
      "the usage of the deleted session's end is not counted",
    );
  });

  test("tool sessions cascade when a session row is deleted directly", async (t) => {
    const { storage, client, count } = await openStorage(t);
    const session = await storage.sessions.create("alice");
    await storage.toolSessions.getOrCreate(session.id, "sequentialThinking", null);
    await client.execute("DELETE FROM sessions WHERE id = ?", [session.id]);
    assert.equal(await count("SELECT count(*) AS count FROM tool_sessions"), 0);
  });

  test("a memory database from before message counts, keyword search and versions gets its messages counted and indexed once, when first opened", async (t) => {
    const url = `file:${path.join(await makeTempDir(t), "memory.db")}`;
    const first = await openLibsqlMemoryStorage({ url });
    const thread = await makeThread(first.messages);
    await first.messages.save(
      [
        thread.stored(userMessage("q", "x about E1234"), at(0)),
        thread.stored(userMessage("a", "y"), at(1)),
        thread.stored(userMessage("running", "z E1234"), at(2), true),
      ],
      { pending: false, now: at(2) },
    );
    // As a database written before the counts, the text index and the versions existed.
    const { client } = first.database;
    const triggersSql =
      "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ('mastra_messages', 'mastra_threads')";
    const triggers = await client.execute(triggersSql);
    assert.equal(triggers.rows.length, 11);
    for (const row of triggers.rows) await client.execute(`DROP TRIGGER ${String(row.name)}`);
    for (const table of [
      "session_bridge_message_counts",
      "session_bridge_message_fts",
      "session_bridge_message_text",
      "session_bridge_message_versions",
    ]) {
      await client.execute(`DROP TABLE ${table}`);
    }
    await first.close();

    for (const _reopened of [1, 2]) {
      const memory = await openLibsqlMemoryStorage({ url });
      try {
        assert.equal((await memory.database.client.execute(triggersSql)).rows.length, 11);
        assert.deepEqual(await memory.messages.count([thread.sessionId]), new Map([[thread.sessionId, 2]]));
        const hits = await memory.messages.searchText({ resourceId: "alice", terms: ["E1234"], topK: 4, exclude: [] });
        assert.deepEqual(
          hits.map((hit) => hit.key),
          [thread.stored(userMessage("q", ""), at(0)).key],
        );
      } finally {
        await memory.close();
      }
    }
  });

  test("a keyword search ranks the newest 500 messages holding a term: an older one that holds it more often is not among them", async (t) => {
    const memory = await openLibsqlMemoryStorage({ url: `file:${path.join(await makeTempDir(t), "memory.db")}` });
    t.after(() => memory.close());
    const thread = await makeThread(memory.messages);
    const oldest = thread.stored(userMessage("oldest", "E1234 E1234 E1234, E1234 again"), at(0));
    await memory.messages.save([oldest], { pending: false, now: at(0) });
    const search = async () =>
      (await memory.messages.searchText({ resourceId: "alice", terms: ["E1234"], topK: 1, exclude: [] })).map(
        (hit) => hit.key,
      );
    await memory.messages.save(
      Array.from({ length: 499 }, (_, index) =>
        thread.stored(
          userMessage(`m${index}`, `a long message that mentions E1234 once among many other words ${index}`),
          at(index + 1),
        ),
      ),
      { pending: false, now: at(500) },
    );
    assert.deepEqual(await search(), [oldest.key], "among the newest 500, it ranks first");
    await memory.messages.save(
      [thread.stored(userMessage("newest", "E1234 mentioned once more in passing here"), at(501))],
      {
        pending: false,
        now: at(501),
      },
    );
    const [newest] = await search();
    assert.ok(newest && newest !== oldest.key, "one newer match pushes it out");
    // Messages left out of recall are not among the 500: it is back.
    const excluding = await memory.messages.searchText({
      resourceId: "alice",
      terms: ["E1234"],
      topK: 1,
      exclude: [thread.stored(userMessage("newest", ""), at(501)).key],
    });
    assert.deepEqual(
      excluding.map((hit) => hit.key),
      [oldest.key],
    );
  });

  test("a file URL with an escaped character opens one database, for writes and reads alike", async (t) => {
    const directory = await makeTempDir(t);
    const storage = await openLibsqlStorage({
      url: `file:${path.join(directory, "sub%20dir", "my%20app.db")}`,
      clock: makeClock(),
      generateId: () => uuidv7(),
    });
    t.after(() => storage.close());
    await storage.migrate();
    const session = await storage.sessions.create("alice");
    assert.equal((await storage.sessions.get("alice", session.id))?.id, session.id);
    assert.deepEqual(await readdir(directory), ["sub dir"]);
    assert.deepEqual(
      (await readdir(path.join(directory, "sub dir"))).filter((name) => name.endsWith(".db")),
      ["my app.db"],
    );
  });

  test("through the ANN index (a user with many vectors), a search still finds the user's nearest when hundreds of another user's are nearer", async (t) => {
    const { vectors } = await openVectors(t);
    const index = { embedderId: "test:hand-made", dimension: 4, indexName: indexNameFor("test:hand-made", 4) };
    await vectors.ensureIndex(index);
    await vectors.upsert(
      index.indexName,
      Array.from({ length: 300 }, (_, position) => messageVector(`bob-${position}`, [1, position / 1000, 0, 0], "bob")),
    );
    await vectors.upsert(index.indexName, [
      messageVector("mine", [0.6, 0.8, 0, 0], "alice"),
      messageVector("also", [0, 1, 0, 0], "alice"),
    ]);
    const mine = await vectors.query(index.indexName, [1, 0, 0, 0], { topK: 4, resourceId: "alice" });
    assert.deepEqual(
      mine.map((hit) => hit.key),
      ["mine", "also"],
    );
    const bobs = await vectors.query(index.indexName, [1, 0, 0, 0], { topK: 2, resourceId: "bob" });
    assert.deepEqual(
      bobs.map((hit) => hit.key),
      ["bob-0", "bob-1"],
    );
    // Scoped to a session, with keys left out: the index's answer, filtered, still holds topK.
    const filtered = await vectors.query(index.indexName, [1, 0, 0, 0], {
      topK: 2,
      resourceId: "bob",
      sessionId: "bob-session",
      exclusions: { exclude: ["bob-0", "bob-2"] },
    });
    assert.deepEqual(
      filtered.map((hit) => hit.key),
      ["bob-1", "bob-3"],
    );
  });
  test("the recall window reads the session's newest messages at once, before its hits are known", async (t) => {
    const memory = await openLibsqlMemoryStorage({ url: `file:${path.join(await makeTempDir(t), "memory.db")}` });
    t.after(() => memory.close());
    const thread = await makeThread(memory.messages);
    const question = thread.stored(userMessage("q", "a question"), at(0));
    await memory.messages.save([question, thread.stored(userMessage("a", "an answer"), at(1))], {
      pending: false,
      now: at(1),
    });
    // The same store over a reader that records its reads.
    const { database } = memory;
    const reads: string[] = [];
    const reader = {
      ...database.reader,
      all: (sql: string, args: InValue[]) => {
        reads.push(sql);
        return database.reader.all(sql, args);
      },
    };
    const messages = createLibsqlMessageStore(database.client, reader);
    let found!: (keys: string[]) => void;
    const window = messages.recallWindow({
      sessionId: thread.sessionId,
      resourceId: "alice",
      last: 1,
      exclude: [],
      hits: new Promise<string[]>((resolve) => {
        found = resolve;
      }),
      range: 1,
    });
    await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(reads.length, 1, "the newest messages were not read before the hits came");
    found([question.key]);
    const { last, around } = await window;
    assert.deepEqual(
      [last.map((stored) => stored.message.id), around.map((stored) => stored.message.id)],
      [["a"], ["q"]],
    );
    assert.equal(reads.length, 2, "the hits' neighbourhoods take one read");
  });

  test("a user with up to exactUpTo vectors is searched exactly in one read; one more, and the index is asked too", async (t) => {
    const database = await openDatabase({ url: `file:${path.join(await makeTempDir(t), "memory.db")}` });
    const thread = database.openThread();
    // Every read the store sends to its read thread, by statement.
    const reads: string[] = [];
    const worker = {
      ...thread,
      all: (sql: string, args: SqlValue[]) => {
        reads.push(sql);
        return thread.all(sql, args);
      },
    };
    const vectors = await openLibsqlVectorStore({ client: database.client, worker, exactUpTo: 2 });
    t.after(async () => {
      await vectors.close();
      await thread.close();
      database.close();
    });
    const index = { embedderId: "test:hand-made", dimension: 4, indexName: indexNameFor("test:hand-made", 4) };
    await vectors.ensureIndex(index);
    const search = async (options: { sessionId?: string; exclude?: string[] } = {}) => {
      reads.length = 0;
      const hits = await vectors.query(index.indexName, [1, 0, 0, 0], {
        topK: 4,
        resourceId: "alice",
        ...(options.sessionId ? { sessionId: options.sessionId } : {}),
        exclusions: { exclude: options.exclude ?? [] },
      });
      return {
        keys: hits.map((hit) => hit.key),
        reads: reads.length,
        index: reads.some((sql) => sql.includes("vector_top_k")),
      };
    };
    assert.deepEqual(await search(), { keys: [], reads: 1, index: false });
    // Another user's vectors count for nothing.
    await vectors.upsert(index.indexName, [messageVector("bobs", [1, 0, 0, 0], "bob")]);
    await vectors.upsert(index.indexName, [
      messageVector("near", [1, 0.1, 0, 0], "alice"),
      messageVector("far", [0, 1, 0, 0], "alice"),
    ]);
    assert.deepEqual(await search(), { keys: ["near", "far"], reads: 1, index: false });
    assert.deepEqual(await search({ exclude: ["near"] }), { keys: ["far"], reads: 1, index: false });
    await vectors.upsert(index.indexName, [messageVector("middle", [1, 0.5, 0, 0], "alice", "alice-other")]);
    // Three: past the limit, the index is asked (and, finding fewer than topK, an exact search follows).
    assert.deepEqual(await search(), { keys: ["near", "middle", "far"], reads: 3, index: true });
    // Scoped to a session, the count is the session's.
    assert.deepEqual(await search({ sessionId: "alice-session" }), { keys: ["near", "far"], reads: 1, index: false });
  });

  test("at 512 dimensions the index keeps one bit per dimension of its neighbours and still answers a user's exact nearest", async (t) => {
    const { vectors, client } = await openVectors(t);
    const index = { embedderId: "test:wide", dimension: 512, indexName: indexNameFor("test:wide", 512) };
    await vectors.ensureIndex(index);
    assert.match(await annIndexDefinition(client, index.indexName), /'compress_neighbors=float1bit', 'search_l=400'/);
    const random = seeded(7);
    const around = (center: number[], spread: number) => center.map((value) => value + (random() - 0.5) * spread);
    const centers = Array.from({ length: 5 }, () => Array.from({ length: 512 }, () => random() - 0.5));
    // Enough that a search walks part of the graph only (its list holds 400).
    const stored = Array.from({ length: 2000 }, (_, position) => ({
      key: `m-${position}`,
      values: around(centers[position % 5] as number[], 0.8),
      resourceId: position % 4 === 0 ? "alice" : "bob",
    }));
    await vectors.upsert(
      index.indexName,
      stored.map(({ key, values, resourceId }) => messageVector(key, values, resourceId)),
    );
    const cosine = (a: number[], b: number[]) =>
      a.reduce((sum, value, position) => sum + value * (b[position] as number), 0) /
      (Math.hypot(...a) * Math.hypot(...b));
    for (const [asker, center] of [
      ["alice", centers[0]],
      ["bob", centers[3]],
    ] as const) {
      const query = around(center as number[], 0.8);
      const exact = stored
        .filter((entry) => entry.resourceId === asker)
        .sort((a, b) => cosine(query, b.values) - cosine(query, a.values))
        .slice(0, 4)
        .map((entry) => entry.key);
      const found = await vectors.query(index.indexName, query, { topK: 4, resourceId: asker });
      assert.deepEqual(
        found.map((hit) => hit.key),
        exact,
      );
    }
    // The index itself (not the exact search a failed one falls back to) finds the nearest of all.
    const query = around(centers[2] as number[], 0.8);
    const nearest = stored
      .map((entry, position) => ({ rowid: position + 1, score: cosine(query, entry.values) }))
      .sort((a, b) => b.score - a.score)
      .slice(0, 10)
      .map((entry) => entry.rowid);
    const approximate = await client.execute({
      sql: `SELECT id FROM vector_top_k('${index.indexName}_vector_idx', vector32(?), 10)`,
      args: [JSON.stringify(query)],
    });
    const rowids = approximate.rows.map((row) => Number(row.id));
    assert.equal(rowids.length, 10);
    assert.ok(nearest.filter((rowid) => rowids.includes(rowid)).length >= 8, `${rowids} against ${nearest}`);
  });

  test("an index made with libSQL's default settings is remade while empty, reported outdated while it holds vectors, and left out and built again by a reindex", async (t) => {
    const { vectors, client } = await openVectors(t);
    const index = { embedderId: "test:old", dimension: 4, indexName: indexNameFor("test:old", 4) };
    // As Mastra's LibSQLVector (and this project before) made it.
    const makeOld = async () => {
      await client.execute(`DROP INDEX IF EXISTS ${index.indexName}_vector_idx`);
      await client.execute(
        `CREATE TABLE IF NOT EXISTS ${index.indexName} (id SERIAL PRIMARY KEY, vector_id TEXT UNIQUE NOT NULL, embedding F32_BLOB(4), metadata TEXT DEFAULT '{}')`,
      );
      await client.execute(
        `CREATE INDEX ${index.indexName}_vector_idx ON ${index.indexName} (libsql_vector_idx(embedding))`,
      );
    };
    await makeOld();
    assert.deepEqual(await vectors.ensureIndex(index), { outdated: false });
    assert.match(await annIndexDefinition(client, index.indexName), /'compress_neighbors=float8', 'search_l=400'/);

    await makeOld();
    const entry = (key: string, values: number[]) => messageVector(key, values, "alice");
    await vectors.upsert(index.indexName, [entry("near", [1, 0.1, 0, 0]), entry("far", [0, 1, 0, 0])]);
    assert.deepEqual(await vectors.ensureIndex(index), { outdated: true });
    assert.doesNotMatch(await annIndexDefinition(client, index.indexName), /compress_neighbors/);

    // A reindex: the index is left out while every vector is written again, the search still answers.
    assert.deepEqual(await vectors.ensureIndex(index, { rebuild: "begin" }), { outdated: false });
    assert.equal(await annIndexDefinition(client, index.indexName), "");
    await vectors.upsert(index.indexName, [entry("near", [1, 0.1, 0, 0]), entry("far", [0, 1, 0, 0])]);
    // A server starting before the reindex ended (or after it was stopped) does not build it.
    assert.deepEqual(await vectors.ensureIndex(index), { outdated: true });
    assert.equal(await annIndexDefinition(client, index.indexName), "");
    // Resumed: still left out.
    await vectors.ensureIndex(index, { rebuild: "begin" });
    assert.equal(await annIndexDefinition(client, index.indexName), "");
    const during = await vectors.query(index.indexName, [1, 0, 0, 0], { topK: 1, resourceId: "alice" });
    assert.deepEqual(
      during.map((hit) => hit.key),
      ["near"],
    );
    // The reindex's last step builds it over the stored vectors, even when an older server made
    // the old one again meanwhile.
    await makeOld();
    assert.deepEqual(await vectors.ensureIndex(index, { rebuild: "end" }), { outdated: false });
    assert.deepEqual(await vectors.ensureIndex(index), { outdated: false });
    assert.match(await annIndexDefinition(client, index.indexName), /'compress_neighbors=float8', 'search_l=400'/);
    const after = await vectors.query(index.indexName, [1, 0, 0, 0], { topK: 1, resourceId: "alice" });
    assert.deepEqual(
      after.map((hit) => hit.key),
      ["near"],
    );
  });

  test("an index built over stored vectors (a reindex's end) is current and searched, and the connection gets its page cache back", async (t) => {
    const { vectors, client } = await openVectors(t);
    const index = { embedderId: "test:bulk", dimension: 4, indexName: indexNameFor("test:bulk", 4) };
    // The cache the client's connection has before any index is built on it (builds raise it); the
    // pool hands the last connection used, the build's, to the next statement.
    const cacheSize = async () => Number((await client.execute("PRAGMA cache_size")).rows[0]?.[0]);
    const cacheBefore = await cacheSize();
    await vectors.ensureIndex(index);
    // Vectors written with the index left out, as a bulk load writes them.
    await client.execute(`DROP INDEX ${index.indexName}_vector_idx`);
    const entry = (key: string, values: number[]) => messageVector(key, values, "alice");
    await vectors.upsert(index.indexName, [entry("near", [1, 0.1, 0, 0]), entry("far", [0, 1, 0, 0])]);
    assert.deepEqual(await vectors.ensureIndex(index, { rebuild: "end" }), { outdated: false });
    assert.match(await annIndexDefinition(client, index.indexName), /'compress_neighbors=float8', 'search_l=400'/);
    assert.equal(await cacheSize(), cacheBefore);
    const found = await vectors.query(index.indexName, [1, 0, 0, 0], { topK: 1, resourceId: "alice" });
    assert.deepEqual(
      found.map((hit) => hit.key),
      ["near"],
    );
  });
});

/** One message's only vector, in `<resourceId>-session`. */
function messageVector(key: string, values: number[], resourceId: string, sessionId = `${resourceId}-session`) {
  return {
    id: `${key}#0`,
    key,
    vector: values,
    sessionId,
    resourceId,
    role: "user",
    createdAt: new Date(0),
  };
}

/**
 * A vector store on a fresh memory file whose every search asks the index first
 * (`exactUpTo: 0`), as it does for a user with more than 2,000 vectors.
 */
async function openVectors(t: TestContext) {
  const url = `file:${path.join(await makeTempDir(t), "memory.db")}`;
  const database = await openDatabase({ url });
  // Searched through the read thread, as a server does.
  const worker = database.openThread();
  const vectors = await openLibsqlVectorStore({ client: database.client, worker, exactUpTo: 0 });
  t.after(async () => {
    await vectors.close();
    await worker.close();
    database.close();
  });
  return { vectors, client: database.client };
}

/** The SQL the vector index of `indexName` was made with ("" when there is none). */
async function annIndexDefinition(client: import("@libsql/client").Client, indexName: string): Promise<string> {
  const result = await client.execute({
    sql: "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?",
    args: [`${indexName}_vector_idx`],
  });
  return String(result.rows[0]?.sql ?? "");
}

/** A reproducible stream of numbers in [0, 1). */
function seeded(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state / 2_147_483_648;
  };
}
