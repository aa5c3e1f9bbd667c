import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ConversationMemory, Session } from "@session-bridge/core";
import { v7 as uuidv7 } from "uuid";
import { createSessionStore } from "../packages/server/src/storage/libsql/session-store.ts";
import { createToolSessionStore } from "../packages/server/src/storage/libsql/tool-session-store.ts";
import { withMemoryThreads } from "../packages/server/src/storage/session-threads.ts";
import { makeClock, openTestDatabase } from "./_setup.ts";

async function setup(t: import("node:test").TestContext) {
  const database = await openTestDatabase(t);
  const clock = makeClock();
  const generateId = () => uuidv7();
  return {
    ...database,
    clock,
    sessions: createSessionStore({ db: database.db, clock, generateId }),
    toolSessions: createToolSessionStore({ db: database.db, clock, generateId }),
  };
}

/** A memory that does nothing: the session store's own behaviour, without threads. */
const noMemory: ConversationMemory = {
  createThread: async () => {},
  deleteThread: async () => {},
  recall: async () => ({ recent: [], recalled: [], memories: [] }),
  save: async () => {},
  indexPending: async () => 0,
  listMessages: async () => [],
};

describe("session store", () => {
  test("creates a UUIDv7 session for a resource", async (t) => {
    const { sessions, clock } = await setup(t);
    const session = await sessions.create("alice", { title: "First" });
    assert.match(session.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(session.resourceId, "alice");
    assert.equal(session.title, "First");
    assert.deepEqual(session.createdAt, clock.now());
    assert.deepEqual(session.lastAccessed, clock.now());
    assert.deepEqual(await sessions.get("alice", session.id), session);
  });

  test("another resource's session is simply not found, for every operation", async (t) => {
    const { sessions } = await setup(t);
    const session = await sessions.create("alice");
    assert.equal(await sessions.get("bob", session.id), undefined);
    assert.equal(await sessions.touch("bob", session.id), false);
    assert.equal(await sessions.rename("bob", session.id, "mine now"), undefined);
    assert.equal(await sessions.delete("bob", session.id), false);
    assert.deepEqual((await sessions.list("bob")).sessions, []);
    const untouched = await sessions.get("alice", session.id);
    assert.deepEqual(untouched, session);
  });

  test("touch moves a session to the front of the list", async (t) => {
    const { sessions, clock } = await setup(t);
    const older = await sessions.create("alice");
    clock.advance(1000);
    const newer = await sessions.create("alice");
    assert.deepEqual(
      (await sessions.list("alice")).sessions.map((session) => session.id),
      [newer.id, older.id],
    );
    clock.advance(1000);
    assert.equal(await sessions.touch("alice", older.id), true);
    const page = await sessions.list("alice");
    assert.deepEqual(
      page.sessions.map((session) => session.id),
      [older.id, newer.id],
    );
    assert.deepEqual(page.sessions[0]?.lastAccessed, clock.now());
  });

  test("pages through a resource's sessions with a cursor, most recent first", async (t) => {
    const { sessions, clock } = await setup(t);
    const created: Session[] = [];
    for (let index = 0; index < 7; index++) {
      created.push(await sessions.create("alice"));
      if (index % 2 === 0) clock.advance(10); // some share a timestamp: the id breaks ties
    }
    await sessions.create("bob");
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await sessions.list("alice", { limit: 3, cursor });
      assert.ok(page.sessions.length <= 3);
      seen.push(...page.sessions.map((session) => session.id));
      cursor = page.nextCursor;
    } while (cursor);
    const expected = [...created]
      .sort((a, b) => b.lastAccessed.getTime() - a.lastAccessed.getTime() || (a.id < b.id ? 1 : -1))
      .map((session) => session.id);
    assert.deepEqual(seen, expected);
  });

  test("the last page has no next cursor", async (t) => {
    const { sessions } = await setup(t);
    await sessions.create("alice");
    await sessions.create("alice");
    assert.equal((await sessions.list("alice", { limit: 2 })).nextCursor, null);
    assert.notEqual((await sessions.list("alice", { limit: 1 })).nextCursor, null);
  });

  test("rejects a cursor it did not issue and a limit out of range", async (t) => {
    const { sessions } = await setup(t);
    for (const cursor of ["nonsense", Buffer.from('{"a":1}').toString("base64url"), "W1tdXQ"]) {
      await assert.rejects(sessions.list("alice", { cursor }), { code: "invalid_request", field: "cursor" });
    }
    for (const limit of [0, 101, 1.5]) {
      await assert.rejects(sessions.list("alice", { limit }), { code: "invalid_request", field: "limit" });
    }
  });

  test("renames a session", async (t) => {
    const { sessions } = await setup(t);
    const session = await sessions.create("alice");
    assert.equal((await sessions.rename("alice", session.id, "Trip plans"))?.title, "Trip plans");
    assert.equal((await sessions.get("alice", session.id))?.title, "Trip plans");
  });

  test("delete removes the session and its tool sessions, after the deletion hooks", async (t) => {
    const { sessions, toolSessions, client } = await setup(t);
    const session = await sessions.create("alice");
    const keep = await sessions.create("alice");
    await toolSessions.getOrCreate(session.id, "sequentialThinking", null);
    await toolSessions.getOrCreate(session.id, "search_docs", "repo-key");
    await toolSessions.getOrCreate(keep.id, "search_docs", "repo-key");
    const hookSaw: string[] = [];
    const withThreads = withMemoryThreads(sessions, {
      ...noMemory,
      deleteThread: async (deleted) => {
        hookSaw.push(deleted.id);
        assert.ok(await sessions.get("alice", deleted.id), "hooks run while the session still exists");
      },
    });

    assert.equal(await withThreads.delete("alice", session.id), true);
    assert.deepEqual(hookSaw, [session.id]);
    assert.equal(await sessions.get("alice", session.id), undefined);
    assert.deepEqual(await toolSessions.listForSession(session.id), []);
    assert.equal((await toolSessions.listForSession(keep.id)).length, 1);
    const orphans = await client.execute("SELECT count(*) AS count FROM tool_sessions WHERE session_id = ?", [
      session.id,
    ]);
    assert.equal(orphans.rows[0]?.count, 0);
    assert.equal(await sessions.delete("alice", session.id), false);
  });

  test("a failing deletion hook leaves the session in place", async (t) => {
    const { sessions } = await setup(t);
    const session = await sessions.create("alice");
    const withThreads = withMemoryThreads(sessions, {
      ...noMemory,
      deleteThread: async () => {
        throw new Error("memory store is down");
      },
    });
    await assert.rejects(withThreads.delete("alice", session.id), /memory store is down/);
    assert.ok(await sessions.get("alice", session.id));
  });

  test("tool sessions cascade when a session row is deleted directly", async (t) => {
    const { sessions, toolSessions, client } = await setup(t);
    const session = await sessions.create("alice");
    await toolSessions.getOrCreate(session.id, "sequentialThinking", null);
    await client.execute("DELETE FROM sessions WHERE id = ?", [session.id]);
    const rows = await client.execute("SELECT count(*) AS count FROM tool_sessions");
    assert.equal(rows.rows[0]?.count, 0);
  });
});
