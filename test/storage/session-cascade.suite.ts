import assert from "node:assert/strict";
import { describe, type TestContext, test } from "node:test";
import { newTurn, openWithClock, turnTrace } from "./_fixtures.ts";
import type { StorageBackend } from "./backend.ts";

/** Two sessions of alice with something of every kind; `doomed` is then deleted. */
async function openWithDeletedSession(backend: StorageBackend, t: TestContext) {
  const { storage, clock } = await openWithClock(backend, t);
  const [doomed, kept] = [await storage.sessions.create("alice"), await storage.sessions.create("alice")];
  const of = async (sessionId: string) => {
    const toolSession = await storage.toolSessions.getOrCreate(sessionId, "search_docs", "repo-key");
    const memory = await storage.memories.add("alice", { scope: "session", sessionId, text: `only in ${sessionId}` });
    const turn = newTurn(sessionId);
    await storage.turns.begin(turn);
    await storage.turns.append(turn.id, 0, [{ type: "text-delta", id: "t1", delta: "hello" }]);
    const trace = turnTrace(clock.now(), { id: turn.id });
    await storage.traces.save(sessionId, trace);
    return { toolSession, memory, turn, trace };
  };
  const userMemory = await storage.memories.add("alice", { scope: "user", text: "Always call me Chris" });
  const [gone, stays] = [await of(doomed.id), await of(kept.id)];
  await storage.usage.record("alice", "local:demo", { inputTokens: 3, outputTokens: 5 });
  assert.equal(await storage.sessions.delete("alice", doomed.id), true);
  return { storage, doomed, kept, gone, stays, userMemory };
}

/** Deleting a session deletes everything of it in the app database, and nothing else. */
export function describeSessionCascade(backend: StorageBackend) {
  describe(`deleting a session on ${backend.name}`, () => {
    test("deletes its tool sessions, and they cannot come back", async (t) => {
      const { storage, doomed, kept, gone, stays } = await openWithDeletedSession(backend, t);
      assert.deepEqual(await storage.toolSessions.listForSession(doomed.id), []);
      assert.equal(await storage.toolSessions.get(gone.toolSession.id), undefined);
      assert.deepEqual(
        await storage.toolSessions.sessionsOf([gone.toolSession.id, stays.toolSession.id]),
        new Map([[stays.toolSession.id, kept.id]]),
      );
      await assert.rejects(storage.toolSessions.getOrCreate(doomed.id, "search_docs", "repo-key"), {
        code: "session_not_found",
      });
    });

    test("deletes its session memories and keeps the user's memories", async (t) => {
      const { storage, doomed, kept, stays, userMemory } = await openWithDeletedSession(backend, t);
      assert.deepEqual(
        (await storage.memories.list("alice")).map((memory) => memory.id).sort(),
        [userMemory.id, stays.memory.id].sort(),
      );
      assert.deepEqual(await storage.memories.forSession("alice", doomed.id), [userMemory]);
      assert.equal((await storage.memories.forSession("alice", kept.id)).length, 2);
    });

    test("deletes its turns and their chunk logs", async (t) => {
      const { storage, doomed, gone, stays } = await openWithDeletedSession(backend, t);
      assert.equal(await storage.turns.get(gone.turn.id), undefined);
      assert.deepEqual(await storage.turns.read(gone.turn.id, -1), []);
      assert.equal(await storage.turns.findRunning("alice", doomed.id), undefined);
      assert.deepEqual(
        (await storage.turns.findRunningOwnedBy("host-a:")).map((turn) => turn.id),
        [stays.turn.id],
      );
      assert.equal((await storage.turns.read(stays.turn.id, -1)).length, 1);
    });

    test("deletes its traces", async (t) => {
      const { storage, doomed, kept, stays } = await openWithDeletedSession(backend, t);
      assert.deepEqual(await storage.traces.listForSession(doomed.id), []);
      assert.deepEqual(await storage.traces.listForSession(kept.id), [stays.trace]);
    });

    test("keeps the usage it counted", async (t) => {
      const { storage } = await openWithDeletedSession(backend, t);
      assert.deepEqual(
        (await storage.usage.list("alice")).map(({ turns, inputTokens, outputTokens }) => ({
          turns,
          inputTokens,
          outputTokens,
        })),
        [{ turns: 1, inputTokens: 3, outputTokens: 5 }],
      );
    });

    test("deletes a session with a running turn and a held lease", async (t) => {
      const { storage } = await openWithClock(backend, t);
      const session = await storage.sessions.create("alice");
      const turn = newTurn(session.id);
      assert.ok(await storage.sessions.acquireTurnLease("alice", session.id, turn.leaseId, 30_000));
      await storage.turns.begin(turn);
      assert.equal(await storage.sessions.delete("alice", session.id), true);
      assert.equal(await storage.turns.get(turn.id), undefined);
      assert.deepEqual(await storage.turns.findAbandoned(), []);
    });
  });
}
