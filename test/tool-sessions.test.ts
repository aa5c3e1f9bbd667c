import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { v7 as uuidv7 } from "uuid";
import { openDatabase } from "../packages/server/src/storage/libsql/client.ts";
import { createSessionStore } from "../packages/server/src/storage/libsql/session-store.ts";
import { createToolSessionStore } from "../packages/server/src/storage/libsql/tool-session-store.ts";
import { makeClock, openTestDatabase } from "./_setup.ts";

async function setup(t: import("node:test").TestContext) {
  const database = await openTestDatabase(t);
  const clock = makeClock();
  const generateId = () => uuidv7();
  const sessions = createSessionStore({ db: database.db, clock, generateId });
  const toolSessions = createToolSessionStore({ db: database.db, clock, generateId });
  const session = await sessions.create("alice");
  return { ...database, clock, sessions, toolSessions, session };
}

const insertRaw =
  "INSERT INTO tool_sessions (tool_session_id, session_id, tool_name, tool_key, created_at, last_accessed) VALUES (?, ?, ?, ?, 0, 0)";

describe("tool session store", () => {
  test("the database refuses a second raw row for the same triple, NULL key included", async (t) => {
    const { client, session } = await setup(t);
    await client.execute(insertRaw, [uuidv7(), session.id, "sequentialThinking", null]);
    await assert.rejects(client.execute(insertRaw, [uuidv7(), session.id, "sequentialThinking", null]), /UNIQUE/);
    await client.execute(insertRaw, [uuidv7(), session.id, "search_docs", "k1"]);
    await assert.rejects(client.execute(insertRaw, [uuidv7(), session.id, "search_docs", "k1"]), /UNIQUE/);
    const rows = await client.execute("SELECT count(*) AS count FROM tool_sessions");
    assert.equal(rows.rows[0]?.count, 2);
  });

  test("NULL and the empty string are different keys", async (t) => {
    const { toolSessions, session } = await setup(t);
    const nullKey = await toolSessions.getOrCreate(session.id, "tool", null);
    const emptyKey = await toolSessions.getOrCreate(session.id, "tool", "");
    assert.notEqual(nullKey.id, emptyKey.id);
    assert.equal(nullKey.toolKey, null);
    assert.equal(emptyKey.toolKey, "");
  });

  test("get-or-create returns the same tool session every time and touches it", async (t) => {
    const { toolSessions, session, clock } = await setup(t);
    const first = await toolSessions.getOrCreate(session.id, "sequentialThinking", null);
    assert.match(first.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7/);
    assert.deepEqual(first.state, {});
    assert.equal(first.stateVersion, 0);
    clock.advance(5000);
    const again = await toolSessions.getOrCreate(session.id, "sequentialThinking", null);
    assert.equal(again.id, first.id);
    assert.deepEqual(again.createdAt, first.createdAt);
    assert.deepEqual(again.lastAccessed, clock.now());
    const other = await toolSessions.getOrCreate(session.id, "search_docs", "repo-a");
    assert.notEqual(other.id, first.id);
    assert.equal((await toolSessions.getOrCreate(session.id, "search_docs", "repo-a")).id, other.id);
    assert.notEqual((await toolSessions.getOrCreate(session.id, "search_docs", "repo-b")).id, other.id);
  });

  test("returns one id to 50 concurrent callers in one process", async (t) => {
    const { toolSessions, session, client } = await setup(t);
    const results = await Promise.all(
      Array.from({ length: 50 }, () => toolSessions.getOrCreate(session.id, "sequentialThinking", null)),
    );
    assert.equal(new Set(results.map((toolSession) => toolSession.id)).size, 1);
    const rows = await client.execute("SELECT count(*) AS count FROM tool_sessions");
    assert.equal(rows.rows[0]?.count, 1);
  });

  test("returns the same tool session to 50 concurrent callers on two separate connections", async (t) => {
    const { file, session, client } = await setup(t);
    const worker = fileURLToPath(new URL("./fixtures/get-or-create-worker.ts", import.meta.url));
    const children = [0, 1].map(() =>
      spawn(process.execPath, ["--import", "tsx", worker, file, session.id, "25"], {
        stdio: ["pipe", "pipe", "inherit"],
      }),
    );
    t.after(() => {
      for (const child of children) child.kill();
    });
    const lines = children.map((child) => createInterface({ input: child.stdout })[Symbol.asyncIterator]());
    for (const line of lines) assert.equal((await line.next()).value, "ready");
    for (const child of children) child.stdin.end("go\n");
    const ids = (await Promise.all(lines.map(async (line) => JSON.parse(String((await line.next()).value)))))
      .flat()
      .map(String);
    await Promise.all(children.map((child) => once(child, "exit")));
    assert.equal(ids.length, 50);
    assert.equal(new Set(ids).size, 1);
    const rows = await client.execute("SELECT count(*) AS count FROM tool_sessions");
    assert.equal(rows.rows[0]?.count, 1);
  });

  test("state is written with a version and survives reopening the database", async (t) => {
    const { toolSessions, session, file, clock } = await setup(t);
    const created = await toolSessions.getOrCreate(session.id, "sequentialThinking", null);
    const written = await toolSessions.writeState(created.id, { thoughts: ["one"] }, { expectedVersion: 0 });
    assert.equal(written.stateVersion, 1);
    assert.deepEqual(written.state, { thoughts: ["one"] });

    const reopened = await openDatabase({ url: `file:${file}` });
    t.after(() => reopened.close());
    const store = createToolSessionStore({ db: reopened.db, clock, generateId: () => uuidv7() });
    const restored = await store.getOrCreate(session.id, "sequentialThinking", null);
    assert.equal(restored.id, created.id);
    assert.deepEqual(restored.state, { thoughts: ["one"] });
    assert.deepEqual(await store.get(created.id), restored);
  });

  test("a write with a stale version is refused and changes nothing", async (t) => {
    const { toolSessions, session } = await setup(t);
    const created = await toolSessions.getOrCreate(session.id, "search_docs", "k");
    await toolSessions.writeState(created.id, { offset: 10 }, { expectedVersion: 0 });
    await assert.rejects(toolSessions.writeState(created.id, { offset: 99 }, { expectedVersion: 0 }), {
      code: "tool_state_conflict",
    });
    assert.deepEqual((await toolSessions.get(created.id))?.state, { offset: 10 });
    assert.equal((await toolSessions.writeState(created.id, { offset: 20 })).stateVersion, 2);
  });

  test("writing the state of an unknown tool session fails as not found", async (t) => {
    const { toolSessions } = await setup(t);
    await assert.rejects(toolSessions.writeState(uuidv7(), {}), { code: "tool_session_not_found" });
    await assert.rejects(toolSessions.writeState(uuidv7(), {}, { expectedVersion: 0 }), {
      code: "tool_session_not_found",
    });
  });

  test("get-or-create for a session that does not exist fails as session not found and stores nothing", async (t) => {
    const { toolSessions, client } = await setup(t);
    await assert.rejects(toolSessions.getOrCreate(uuidv7(), "sequentialThinking", null), { code: "session_not_found" });
    const rows = await client.execute("SELECT count(*) AS count FROM tool_sessions");
    assert.equal(rows.rows[0]?.count, 0);
  });

  test("lists a session's tool sessions in creation order", async (t) => {
    const { toolSessions, session, clock } = await setup(t);
    const first = await toolSessions.getOrCreate(session.id, "search_docs", "a");
    clock.advance(1);
    const second = await toolSessions.getOrCreate(session.id, "sequentialThinking", null);
    assert.deepEqual(
      (await toolSessions.listForSession(session.id)).map((toolSession) => toolSession.id),
      [first.id, second.id],
    );
  });
});
