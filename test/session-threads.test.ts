import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ConversationMemory } from "@session-bridge/core";
import { withMemoryThreads } from "../packages/server/src/storage/session-threads.ts";
import { libsqlBackend } from "./storage/libsql-backend.ts";

// The session store itself is specified by test/storage/sessions.suite.ts.

/** A memory that does nothing: the session store's own behaviour, without threads. */
const noMemory: ConversationMemory = {
  createThread: async () => {},
  deleteThread: async () => {},
  recall: async () => ({ recent: [], recalled: [], memories: [] }),
  save: async () => {},
  indexPending: async () => 0,
  listMessages: async () => [],
};

describe("sessions with memory threads", () => {
  test("delete runs the deletion hooks while the session still exists, then deletes it", async (t) => {
    const { storage } = await libsqlBackend.open(t);
    const { sessions } = storage;
    const session = await sessions.create("alice");
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
    assert.equal(await withThreads.delete("alice", session.id), false);
    assert.deepEqual(hookSaw, [session.id], "no hooks for a session that is not there");
  });

  test("a failing deletion hook leaves the session in place", async (t) => {
    const { storage } = await libsqlBackend.open(t);
    const { sessions } = storage;
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
});
