import assert from "node:assert/strict";
import { describe, type TestContext, test } from "node:test";
import type { ToolSession } from "@session-bridge/core";
import { v7 as uuidv7 } from "uuid";
import { openWithClock, uuidv7Pattern } from "./_fixtures.ts";
import type { StorageBackend } from "./backend.ts";

async function openWithSession(backend: StorageBackend, t: TestContext) {
  const opened = await openWithClock(backend, t);
  const session = await opened.storage.sessions.create("alice");
  return { ...opened, toolSessions: opened.storage.toolSessions, session };
}

const ids = (toolSessions: ToolSession[]) => toolSessions.map((toolSession) => toolSession.id);

/** The {@link ToolSessionStore} contract: one tool session per (session, tool, key), a NULL key included. */
export function describeToolSessionStore(backend: StorageBackend) {
  describe(`tool session store on ${backend.name}`, () => {
    test("get-or-create returns the same tool session every time and touches it", async (t) => {
      const { storage, toolSessions, session, clock } = await openWithSession(backend, t);
      const first = await toolSessions.getOrCreate(session.id, "sequentialThinking", null);
      assert.match(first.id, uuidv7Pattern);
      assert.deepEqual(first, {
        id: first.id,
        sessionId: session.id,
        toolName: "sequentialThinking",
        toolKey: null,
        state: {},
        stateVersion: 0,
        createdAt: clock.now(),
        lastAccessed: clock.now(),
      });
      clock.advance(5000);
      const again = await toolSessions.getOrCreate(session.id, "sequentialThinking", null);
      assert.equal(again.id, first.id);
      assert.deepEqual(again.createdAt, first.createdAt);
      assert.deepEqual(again.lastAccessed, clock.now());
      assert.deepEqual(await toolSessions.get(first.id), again);

      const other = await toolSessions.getOrCreate(session.id, "search_docs", "repo-a");
      assert.notEqual(other.id, first.id);
      assert.equal((await toolSessions.getOrCreate(session.id, "search_docs", "repo-a")).id, other.id);
      assert.notEqual((await toolSessions.getOrCreate(session.id, "search_docs", "repo-b")).id, other.id);
      const otherSession = await storage.sessions.create("alice");
      assert.notEqual((await toolSessions.getOrCreate(otherSession.id, "sequentialThinking", null)).id, first.id);
    });

    test("NULL and the empty string are different keys", async (t) => {
      const { toolSessions, session } = await openWithSession(backend, t);
      const nullKey = await toolSessions.getOrCreate(session.id, "tool", null);
      const emptyKey = await toolSessions.getOrCreate(session.id, "tool", "");
      assert.notEqual(nullKey.id, emptyKey.id);
      assert.equal(nullKey.toolKey, null);
      assert.equal(emptyKey.toolKey, "");
      assert.equal((await toolSessions.getOrCreate(session.id, "tool", null)).id, nullKey.id);
      assert.equal((await toolSessions.getOrCreate(session.id, "tool", "")).id, emptyKey.id);
    });

    for (const toolKey of [null, "repo-key"]) {
      test(`returns one tool session to 50 concurrent callers on two connections, key ${JSON.stringify(toolKey)}`, async (t) => {
        const opened = await openWithSession(backend, t);
        const other = await opened.another();
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, index) =>
            (index % 2 === 0 ? opened : other).storage.toolSessions.getOrCreate(opened.session.id, "tool", toolKey),
          ),
        );
        assert.equal(new Set(ids(results)).size, 1);
        assert.deepEqual(ids(await opened.toolSessions.listForSession(opened.session.id)), [results[0]?.id]);
      });
    }

    test("state written on one connection is what another connection reads", async (t) => {
      const opened = await openWithSession(backend, t);
      const { toolSessions, session, clock } = opened;
      const created = await toolSessions.getOrCreate(session.id, "sequentialThinking", null);
      clock.advance(1000);
      const state = { thoughts: ["one", "two"], nested: { count: 2, done: false, none: null } };
      const written = await toolSessions.writeState(created.id, state, { expectedVersion: 0 });
      assert.deepEqual(written, { ...created, state, stateVersion: 1, lastAccessed: clock.now() });

      const other = await opened.another();
      const read = await other.storage.toolSessions.getOrCreate(session.id, "sequentialThinking", null);
      assert.equal(read.id, created.id);
      assert.deepEqual(read.state, state);
      assert.deepEqual(await other.storage.toolSessions.get(created.id), read);
    });

    test("every state write increases the version by one", async (t) => {
      const { toolSessions, session } = await openWithSession(backend, t);
      const created = await toolSessions.getOrCreate(session.id, "search_docs", "k");
      assert.equal((await toolSessions.writeState(created.id, { offset: 1 })).stateVersion, 1);
      assert.equal((await toolSessions.writeState(created.id, { offset: 2 })).stateVersion, 2);
      assert.equal((await toolSessions.writeState(created.id, { offset: 3 }, { expectedVersion: 2 })).stateVersion, 3);
      assert.equal((await toolSessions.get(created.id))?.stateVersion, 3);
    });

    test("a write with a stale version is refused as a conflict and changes nothing", async (t) => {
      const { toolSessions, session } = await openWithSession(backend, t);
      const created = await toolSessions.getOrCreate(session.id, "search_docs", "k");
      await toolSessions.writeState(created.id, { offset: 10 }, { expectedVersion: 0 });
      await assert.rejects(toolSessions.writeState(created.id, { offset: 99 }, { expectedVersion: 0 }), {
        name: "ToolStateConflictError",
        code: "tool_state_conflict",
        toolSessionId: created.id,
        expectedVersion: 0,
      });
      const after = await toolSessions.get(created.id);
      assert.deepEqual(after?.state, { offset: 10 });
      assert.equal(after?.stateVersion, 1);
      assert.equal((await toolSessions.writeState(created.id, { offset: 20 })).stateVersion, 2);
    });

    test("of two concurrent writes expecting one version, exactly one wins", async (t) => {
      const opened = await openWithSession(backend, t);
      const other = await opened.another();
      const created = await opened.toolSessions.getOrCreate(opened.session.id, "search_docs", "k");
      const results = await Promise.allSettled([
        opened.toolSessions.writeState(created.id, { by: "first" }, { expectedVersion: 0 }),
        other.storage.toolSessions.writeState(created.id, { by: "second" }, { expectedVersion: 0 }),
      ]);
      const won = results.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
      assert.equal(won.length, 1);
      const lost = results.find((result) => result.status === "rejected");
      assert.equal((lost?.reason as { code?: string } | undefined)?.code, "tool_state_conflict");
      assert.deepEqual((await opened.toolSessions.get(created.id))?.state, won[0]?.state);
    });

    test("writing the state of an unknown tool session fails as not found", async (t) => {
      const { toolSessions } = await openWithSession(backend, t);
      const unknown = uuidv7();
      const notFound = { name: "ToolSessionNotFoundError", code: "tool_session_not_found", toolSessionId: unknown };
      await assert.rejects(toolSessions.writeState(unknown, {}), notFound);
      await assert.rejects(toolSessions.writeState(unknown, {}, { expectedVersion: 0 }), notFound);
      assert.equal(await toolSessions.get(unknown), undefined);
    });

    test("get-or-create for a session that does not exist fails as session not found and stores nothing", async (t) => {
      const { toolSessions } = await openWithSession(backend, t);
      const unknown = uuidv7();
      await assert.rejects(toolSessions.getOrCreate(unknown, "sequentialThinking", null), {
        name: "SessionNotFoundError",
        code: "session_not_found",
        sessionId: unknown,
      });
      assert.deepEqual(await toolSessions.listForSession(unknown), []);
    });

    test("lists a session's tool sessions oldest first, and only that session's", async (t) => {
      const { storage, toolSessions, session, clock } = await openWithSession(backend, t);
      const first = await toolSessions.getOrCreate(session.id, "search_docs", "a");
      clock.advance(1);
      const second = await toolSessions.getOrCreate(session.id, "sequentialThinking", null);
      clock.advance(1);
      const third = await toolSessions.getOrCreate(session.id, "search_docs", "b");
      clock.advance(1);
      await toolSessions.getOrCreate(session.id, "search_docs", "a"); // use does not reorder
      await toolSessions.getOrCreate((await storage.sessions.create("alice")).id, "search_docs", "a");
      assert.deepEqual(ids(await toolSessions.listForSession(session.id)), [first.id, second.id, third.id]);
    });

    test("restores a tool session as it is, once, and names the session of each existing id", async (t) => {
      const { storage, toolSessions, session } = await openWithSession(backend, t);
      const toolSession: ToolSession = {
        id: uuidv7(),
        sessionId: session.id,
        toolName: "search_docs",
        toolKey: "repo-key",
        state: { offset: 40, query: "retry" },
        stateVersion: 7,
        createdAt: new Date("2025-05-01T08:00:00.001Z"),
        lastAccessed: new Date("2025-05-02T08:00:00.002Z"),
      };
      assert.equal(await toolSessions.restore(toolSession), true);
      assert.deepEqual(await toolSessions.get(toolSession.id), toolSession);
      assert.equal((await toolSessions.getOrCreate(session.id, "search_docs", "repo-key")).id, toolSession.id);
      assert.equal(await toolSessions.restore({ ...toolSession, state: { offset: 0 } }), false);
      assert.deepEqual((await toolSessions.get(toolSession.id))?.state, toolSession.state);

      const another = await storage.sessions.create("bob");
      const bobs = await toolSessions.getOrCreate(another.id, "sequentialThinking", null);
      assert.deepEqual(
        await toolSessions.sessionsOf([toolSession.id, bobs.id, uuidv7()]),
        new Map([
          [toolSession.id, session.id],
          [bobs.id, another.id],
        ]),
      );
      assert.deepEqual(await toolSessions.sessionsOf([]), new Map());
    });
  });
}
