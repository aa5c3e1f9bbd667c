import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { readdir } from "node:fs/promises";
import path from "node:path";
import { createInterface } from "node:readline";
import { describe, type TestContext, test } from "node:test";
import { fileURLToPath } from "node:url";
import { v7 as uuidv7 } from "uuid";
import { indexNameFor } from "../packages/server/src/memory/vector-index.ts";
import { openDatabase } from "../packages/server/src/storage/libsql/client.ts";
import { openLibsqlMemoryStorage, openLibsqlStorage } from "../packages/server/src/storage/libsql/libsql-storage.ts";
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

  test("tool sessions cascade when a session row is deleted directly", async (t) => {
    const { storage, client, count } = await openStorage(t);
    const session = await storage.sessions.create("alice");
    await storage.toolSessions.getOrCreate(session.id, "sequentialThinking", null);
    await client.execute("DELETE FROM sessions WHERE id = ?", [session.id]);
    assert.equal(await count("SELECT count(*) AS count FROM tool_sessions"), 0);
  });

  test("a memory database from before message counts and keyword search gets its messages counted and indexed once, when first opened", async (t) => {
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
    // As a database written before the counts and the text index existed.
    const { client } = first.database;
    const triggers = await client.execute(
      "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name IN ('mastra_messages', 'mastra_threads')",
    );
    assert.equal(triggers.rows.length, 7);
    for (const row of triggers.rows) await client.execute(`DROP TRIGGER ${String(row.name)}`);
    for (const table of [
      "session_bridge_message_counts",
      "session_bridge_message_fts",
      "session_bridge_message_text",
    ]) {
      await client.execute(`DROP TABLE ${table}`);
    }
    await first.close();

    for (const _reopened of [1, 2]) {
      const memory = await openLibsqlMemoryStorage({ url });
      try {
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
    const url = `file:${path.join(await makeTempDir(t), "memory.db")}`;
    const database = await openDatabase({ url });
    // 0: every search asks the index first, as it does for a user with more than 2,000 vectors.
    const vectors = await openLibsqlVectorStore({ client: database.client, url, exactUpTo: 0 });
    t.after(async () => {
      await vectors.close();
      database.close();
    });
    const index = { embedderId: "test:hand-made", dimension: 4, indexName: indexNameFor("test:hand-made", 4) };
    await vectors.ensureIndex(index);
    const vector = (key: string, values: number[], resourceId: string) => ({
      id: `${key}#0`,
      key,
      vector: values,
      sessionId: `${resourceId}-session`,
      resourceId,
      role: "user",
      createdAt: new Date(0),
    });
    await vectors.upsert(
      index.indexName,
      Array.from({ length: 300 }, (_, position) => vector(`bob-${position}`, [1, position / 1000, 0, 0], "bob")),
    );
    await vectors.upsert(index.indexName, [
      vector("mine", [0.6, 0.8, 0, 0], "alice"),
      vector("also", [0, 1, 0, 0], "alice"),
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
});
