import assert from "node:assert/strict";
import { describe, type TestContext, test } from "node:test";
import type { UIMessageChunk } from "ai";
import { v7 as uuidv7 } from "uuid";
import { newTurn, openWithClock } from "./_fixtures.ts";
import type { OpenedStorage, StorageBackend } from "./backend.ts";

async function openWithSession(backend: StorageBackend, t: TestContext) {
  const opened = await openWithClock(backend, t);
  const session = await opened.storage.sessions.create("alice");
  return { ...opened, turns: opened.storage.turns, session };
}

/** A batch of stream chunks, different for every seq. */
const batch = (seq: number): UIMessageChunk[] => [
  { type: "text-delta", id: "t1", delta: `part ${seq} ` },
  { type: "text-delta", id: "t1", delta: `\u0000 ✓ ${seq}\r\n` },
];

const ids = (turns: { id: string }[]) => turns.map((turn) => turn.id).sort();

/** The {@link TurnLog} contract: turns from their start, and each running turn's chunk log. */
/** Alice's usage rows as [turns, input tokens, output tokens]. */
async function usageCounts(storage: OpenedStorage["storage"]) {
  return (await storage.usage.list("alice")).map(({ turns, inputTokens, outputTokens }) => [
    turns,
    inputTokens,
    outputTokens,
  ]);
}

export function describeTurnLog(backend: StorageBackend) {
  describe(`turn log on ${backend.name}`, () => {
    test("records a turn as running, started now", async (t) => {
      const { turns, session, clock } = await openWithSession(backend, t);
      const turn = newTurn(session.id, { chatId: "chat-1" });
      await turns.begin(turn);
      assert.deepEqual(await turns.get(turn.id), {
        ...turn,
        status: "running",
        stopRequested: false,
        startedAt: clock.now(),
        endedAt: null,
      });
      assert.equal(await turns.get(uuidv7()), undefined);
    });

    test("finishing ends a running turn now, once", async (t) => {
      const { turns, session, clock } = await openWithSession(backend, t);
      const turn = newTurn(session.id);
      await turns.begin(turn);
      const startedAt = clock.now();
      clock.advance(2500);
      assert.equal(await turns.end({ turnId: turn.id, status: "stopped" }), true);
      assert.deepEqual(await turns.get(turn.id), {
        ...turn,
        status: "stopped",
        stopRequested: false,
        startedAt,
        endedAt: clock.now(),
      });
      clock.advance(1000);
      assert.equal(await turns.end({ turnId: turn.id, status: "complete" }), false);
      assert.equal(await turns.markInterrupted(turn.id), false);
      assert.equal((await turns.get(turn.id))?.status, "stopped", "the first end stays");
      assert.equal(await turns.end({ turnId: uuidv7(), status: "complete" }), false);
    });

    test("a turn's end writes its last batch, trace, usage and lease release with its status", async (t) => {
      const { storage, turns, session, clock } = await openWithSession(backend, t);
      const turn = newTurn(session.id);
      assert.ok(await storage.sessions.acquireTurnLease("alice", session.id, turn.leaseId, 60_000));
      await turns.begin(turn);
      await turns.append(turn.id, 0, batch(0));
      const trace = {
        id: turn.id,
        startedAt: clock.now(),
        endedAt: clock.now(),
        outcome: "complete" as const,
        model: "local:demo",
        transitions: [],
        recalled: [],
        toolCalls: [],
        usage: { inputTokens: 3, outputTokens: 4 },
      };
      const ending = {
        turnId: turn.id,
        status: "complete" as const,
        lastBatch: { seq: 1, chunks: batch(1) },
        trace: { sessionId: session.id, trace },
        usage: { resourceId: "alice", model: "local:demo", inputTokens: 3, outputTokens: 4 },
        lease: { sessionId: session.id, leaseId: turn.leaseId },
      };
      assert.equal(await turns.end(ending), true);
      assert.equal((await turns.get(turn.id))?.status, "complete");
      assert.deepEqual(await turns.read(turn.id, -1), [
        { seq: 0, chunks: batch(0) },
        { seq: 1, chunks: batch(1) },
      ]);
      assert.deepEqual(await storage.traces.listForSession(session.id), [trace]);
      assert.deepEqual(await usageCounts(storage), [[1, 3, 4]]);
      assert.ok(await storage.sessions.acquireTurnLease("alice", session.id, uuidv7(), 60_000), "the lease is free");

      // Ending it again: the status stays, the rest is written all the same (a batch written twice is kept once,
      // the usage counted up, the trace replaced).
      const replaced = { ...trace, outcome: "stopped" as const, usage: { inputTokens: 5, outputTokens: 7 } };
      assert.equal(
        await turns.end({
          ...ending,
          trace: { sessionId: session.id, trace: replaced },
          usage: { ...ending.usage, inputTokens: 5, outputTokens: 7 },
        }),
        false,
      );
      assert.equal((await turns.get(turn.id))?.status, "complete");
      assert.equal((await turns.read(turn.id, -1)).length, 2);
      assert.deepEqual(await usageCounts(storage), [[2, 8, 11]]);
      assert.deepEqual(await storage.traces.listForSession(session.id), [replaced]);
    });

    test("marks an abandoned turn interrupted now, unless something ended it first", async (t) => {
      const { turns, session, clock } = await openWithSession(backend, t);
      const turn = newTurn(session.id);
      await turns.begin(turn);
      clock.advance(100);
      assert.equal(await turns.markInterrupted(turn.id), true);
      const interrupted = await turns.get(turn.id);
      assert.equal(interrupted?.status, "interrupted");
      assert.deepEqual(interrupted?.endedAt, clock.now());
      assert.equal(
        await turns.end({ turnId: turn.id, status: "complete" }),
        false,
        "a late finish does not overwrite it",
      );
      assert.equal(await turns.markInterrupted(turn.id), false);
    });

    test("records a turn that ended complete or stopped as failed after all, with its trace; no other", async (t) => {
      const { storage, turns, session, clock } = await openWithSession(backend, t);
      const [complete, stopped, running, interrupted] = [
        newTurn(session.id),
        newTurn(session.id),
        newTurn(session.id),
        newTurn(session.id),
      ];
      for (const turn of [complete, stopped, running, interrupted]) await turns.begin(turn);
      const traceOf = (id: string, outcome: "complete" | "failed") => ({
        id,
        startedAt: clock.now(),
        endedAt: clock.now(),
        outcome,
        model: "local:demo",
        transitions: [{ state: outcome === "failed" ? ("failed" as const) : ("done" as const), at: clock.now() }],
        recalled: [],
        toolCalls: [],
        usage: { inputTokens: 1, outputTokens: 2 },
      });
      await turns.end({
        turnId: complete.id,
        status: "complete",
        trace: { sessionId: session.id, trace: traceOf(complete.id, "complete") },
        usage: { resourceId: "alice", model: "local:demo", inputTokens: 1, outputTokens: 2 },
      });
      await turns.end({ turnId: stopped.id, status: "stopped" });
      await turns.markInterrupted(interrupted.id);
      const failed = traceOf(complete.id, "failed");
      assert.equal(await turns.markFailed(complete.id, { sessionId: session.id, trace: failed }), true);
      assert.equal((await turns.get(complete.id))?.status, "failed");
      assert.deepEqual(await storage.traces.listForSession(session.id), [failed], "the trace replaced");
      assert.equal((await storage.usage.list("alice"))[0]?.turns, 1, "usage counted once");
      assert.equal(
        await turns.markFailed(stopped.id, { sessionId: session.id, trace: traceOf(stopped.id, "failed") }),
        true,
      );
      for (const turn of [running, interrupted, complete]) {
        const before = (await turns.get(turn.id))?.status;
        const traces = await storage.traces.listForSession(session.id);
        assert.equal(
          await turns.markFailed(turn.id, {
            sessionId: session.id,
            trace: { ...traceOf(turn.id, "failed"), model: "x" },
          }),
          false,
        );
        assert.equal((await turns.get(turn.id))?.status, before);
        assert.deepEqual(await storage.traces.listForSession(session.id), traces, "no trace written");
      }
    });

    test("finds sessions' newest turns that ended complete or stopped while their chunk log is kept", async (t) => {
      const { storage, turns, session, clock } = await openWithSession(backend, t);
      const other = await storage.sessions.create("alice");
      const third = await storage.sessions.create("alice");
      const fourth = await storage.sessions.create("alice");
      /** A turn of `sessionId` started now (a millisecond after the one before), ended as given, its log kept or not. */
      const ended = async (sessionId: string, status: "complete" | "stopped" | "failed" | "running", log = true) => {
        clock.advance(1);
        const turn = newTurn(sessionId);
        await turns.begin(turn);
        if (log) await turns.append(turn.id, 0, batch(0));
        if (status !== "running") await turns.end({ turnId: turn.id, status });
        return turn;
      };
      // The session's newest turn ended complete with its log: found; an older one is not.
      await ended(session.id, "complete");
      const newest = await ended(session.id, "complete");
      // A newer failed turn hides the complete one before it; so does a running one.
      await ended(other.id, "stopped");
      await ended(other.id, "failed");
      const stopped = await ended(third.id, "stopped");
      // No log kept: not found.
      await ended(fourth.id, "complete", false);
      assert.deepEqual(ids(await turns.findEndedWithLog()), ids([newest, stopped]));
      assert.deepEqual(ids(await turns.findEndedWithLog({ sessionId: session.id })), ids([newest]));
      assert.deepEqual(await turns.findEndedWithLog({ sessionId: other.id }), []);
      await turns.deleteChunks(newest.id);
      assert.deepEqual(await turns.findEndedWithLog({ sessionId: session.id }), []);
      await ended(third.id, "running");
      assert.deepEqual(await turns.findEndedWithLog({ sessionId: third.id }), [], "a running turn is newer");
      assert.deepEqual(await turns.findEndedWithLog({ sessionId: uuidv7() }), []);
    });

    test("replays a chunk log in seq order, whatever order its batches were appended in", async (t) => {
      const { turns, session } = await openWithSession(backend, t);
      const turn = newTurn(session.id);
      await turns.begin(turn);
      for (const seq of [2, 0, 1]) await turns.append(turn.id, seq, batch(seq));
      assert.deepEqual(await turns.read(turn.id, -1), [
        { seq: 0, chunks: batch(0) },
        { seq: 1, chunks: batch(1) },
        { seq: 2, chunks: batch(2) },
      ]);
    });

    test("replays batches appended concurrently on two connections in seq order", async (t) => {
      const opened = await openWithSession(backend, t);
      const other = await opened.another();
      const turn = newTurn(opened.session.id);
      await opened.turns.begin(turn);
      const order = [7, 3, 11, 0, 5, 9, 1, 10, 2, 8, 4, 6];
      await Promise.all(
        order.map((seq, index) => (index % 2 === 0 ? opened : other).storage.turns.append(turn.id, seq, batch(seq))),
      );
      const expected = [...order].sort((a, b) => a - b).map((seq) => ({ seq, chunks: batch(seq) }));
      assert.deepEqual(await opened.turns.read(turn.id, -1), expected);
      assert.deepEqual(await other.storage.turns.read(turn.id, -1), expected);
    });

    test("reading after a seq returns only the later batches", async (t) => {
      const { turns, session } = await openWithSession(backend, t);
      const turn = newTurn(session.id);
      await turns.begin(turn);
      for (const seq of [0, 1, 2, 3]) await turns.append(turn.id, seq, batch(seq));
      assert.deepEqual(
        (await turns.read(turn.id, 1)).map((entry) => entry.seq),
        [2, 3],
      );
      assert.deepEqual(await turns.read(turn.id, 3), []);
      assert.deepEqual(await turns.read(uuidv7(), -1), []);
    });

    test("a batch appended twice is kept once", async (t) => {
      const { turns, session } = await openWithSession(backend, t);
      const turn = newTurn(session.id);
      await turns.begin(turn);
      await turns.append(turn.id, 0, batch(0));
      await turns.append(turn.id, 1, batch(1));
      await turns.append(turn.id, 1, batch(1));
      assert.deepEqual(await turns.read(turn.id, -1), [
        { seq: 0, chunks: batch(0) },
        { seq: 1, chunks: batch(1) },
      ]);
    });

    test("chunk logs of two turns never mix", async (t) => {
      const { turns, session } = await openWithSession(backend, t);
      const [first, second] = [newTurn(session.id), newTurn(session.id)];
      await turns.begin(first);
      await turns.begin(second);
      await turns.append(first.id, 0, batch(0));
      await turns.append(second.id, 0, batch(10));
      assert.deepEqual(await turns.read(first.id, -1), [{ seq: 0, chunks: batch(0) }]);
      assert.deepEqual(await turns.read(second.id, -1), [{ seq: 0, chunks: batch(10) }]);
    });

    test("finds the resource's running turn by session id or chat id, newest first", async (t) => {
      const { turns, session, clock } = await openWithSession(backend, t);
      const older = newTurn(session.id, { chatId: "chat-1" });
      await turns.begin(older);
      clock.advance(10);
      const newer = newTurn(session.id, { chatId: "chat-1" });
      await turns.begin(newer);
      assert.equal((await turns.findRunning("alice", session.id))?.id, newer.id);
      assert.equal((await turns.findRunning("alice", "chat-1"))?.id, newer.id);
      await turns.end({ turnId: newer.id, status: "complete" });
      assert.equal((await turns.findRunning("alice", session.id))?.id, older.id);
      assert.equal((await turns.findRunning("alice", "chat-1"))?.id, older.id);
      await turns.markInterrupted(older.id);
      assert.equal(await turns.findRunning("alice", session.id), undefined);
      assert.equal(await turns.findRunning("alice", "chat-1"), undefined);
    });

    test("finds a running turn by its session id in upper case: the same id", async (t) => {
      const { turns, session } = await openWithSession(backend, t);
      const turn = newTurn(session.id);
      await turns.begin(turn);
      assert.equal((await turns.findRunning("alice", session.id.toUpperCase()))?.id, turn.id);
    });

    test("never finds another resource's running turn", async (t) => {
      const { storage, turns, session } = await openWithSession(backend, t);
      const turn = newTurn(session.id, { chatId: "shared-chat-id" });
      await turns.begin(turn);
      const bobs = await storage.sessions.create("bob");
      const bobsTurn = newTurn(bobs.id, { resourceId: "bob", chatId: "shared-chat-id" });
      await turns.begin(bobsTurn);
      assert.equal(await turns.findRunning("bob", session.id), undefined);
      assert.equal((await turns.findRunning("bob", "shared-chat-id"))?.id, bobsTurn.id);
      assert.equal((await turns.findRunning("alice", "shared-chat-id"))?.id, turn.id);
    });

    test("asks the session's running turn to stop; stopRequested names the turns asked", async (t) => {
      const { storage, turns, session } = await openWithSession(backend, t);
      const other = await storage.sessions.create("alice");
      const [running, elsewhere, ended] = [newTurn(session.id), newTurn(other.id), newTurn(other.id)];
      for (const turn of [running, elsewhere, ended]) await turns.begin(turn);
      await turns.end({ turnId: ended.id, status: "complete" });
      const asked = [running.id, elsewhere.id, ended.id];
      assert.deepEqual(await turns.stopRequested(asked), []);
      assert.equal(await turns.requestStop("bob", session.id), false, "not bob's session");
      assert.equal(await turns.requestStop("alice", session.id), true);
      assert.deepEqual(await turns.stopRequested(asked), [running.id]);
      assert.equal((await turns.get(running.id))?.stopRequested, true);
      assert.deepEqual(await turns.stopRequested([]), []);
      await turns.end({ turnId: running.id, status: "stopped" });
      assert.equal(await turns.requestStop("alice", session.id), false, "nothing runs any more");
      assert.equal(await turns.requestStop("alice", uuidv7()), false);
    });

    test("finds running turns whose session lease is gone, taken by another turn, or expired", async (t) => {
      const { storage, turns, clock } = await openWithSession(backend, t);
      const ttl = 30_000;
      const start = async () => {
        const session = await storage.sessions.create("alice");
        const turn = newTurn(session.id);
        assert.ok(await storage.sessions.acquireTurnLease("alice", session.id, turn.leaseId, ttl));
        await turns.begin(turn);
        return turn;
      };
      const alive = await start();
      const released = await start();
      await storage.sessions.releaseTurnLease(released.sessionId, released.leaseId);
      const replaced = await start();
      await storage.sessions.releaseTurnLease(replaced.sessionId, replaced.leaseId);
      await storage.sessions.acquireTurnLease("alice", replaced.sessionId, uuidv7(), ttl * 10);
      const ended = await start();
      await storage.sessions.releaseTurnLease(ended.sessionId, ended.leaseId);
      await turns.end({ turnId: ended.id, status: "complete" });
      assert.deepEqual(ids(await turns.findAbandoned()), ids([released, replaced]));

      clock.advance(ttl - 1);
      assert.equal(await storage.sessions.renewTurnLease(alive.sessionId, alive.leaseId, ttl), true);
      clock.advance(2); // past the first expiry, within the renewed one
      assert.deepEqual(ids(await turns.findAbandoned()), ids([released, replaced]));
      const expiring = await start();
      clock.advance(ttl + 1); // past the end of both live leases
      assert.deepEqual(ids(await turns.findAbandoned()), ids([alive, released, replaced, expiring]));
      assert.deepEqual(ids(await turns.findAbandoned({ sessionId: expiring.sessionId })), [expiring.id]);
      assert.deepEqual(await turns.findAbandoned({ sessionId: uuidv7() }), []);
      const [found] = await turns.findAbandoned({ sessionId: released.sessionId });
      assert.equal(found?.status, "running");
      assert.equal(found?.leaseId, released.leaseId);
    });

    test("finds running turns by owner prefix, taken literally", async (t) => {
      const { turns, session } = await openWithSession(backend, t);
      const owners = ["host-a:1:x", "host-a:2:y", "host-b:1:z", "hostXa:1:w", "host%a:3:v"];
      const started = owners.map((owner) => newTurn(session.id, { owner }));
      for (const turn of started) await turns.begin(turn);
      const ended = newTurn(session.id, { owner: "host-a:3:ended" });
      await turns.begin(ended);
      await turns.end({ turnId: ended.id, status: "failed" });
      const owned = async (prefix: string) => (await turns.findRunningOwnedBy(prefix)).map((turn) => turn.owner).sort();
      assert.deepEqual(await owned("host-a:"), ["host-a:1:x", "host-a:2:y"]);
      assert.deepEqual(await owned("host-a:1:x"), ["host-a:1:x"]);
      assert.deepEqual(await owned("host_a:"), [], "_ is no wildcard");
      assert.deepEqual(await owned("host%"), ["host%a:3:v"], "% is no wildcard");
      assert.deepEqual(await owned("nobody:"), []);
    });

    test("deletes one turn's chunk log", async (t) => {
      const { turns, session } = await openWithSession(backend, t);
      const [first, second] = [newTurn(session.id), newTurn(session.id)];
      for (const turn of [first, second]) {
        await turns.begin(turn);
        await turns.append(turn.id, 0, batch(0));
      }
      await turns.deleteChunks(first.id);
      assert.deepEqual(await turns.read(first.id, -1), []);
      assert.equal((await turns.read(second.id, -1)).length, 1);
      assert.equal((await turns.get(first.id))?.status, "running", "the turn itself stays");
    });

    test("prunes the chunk logs of turns that ended before the cutoff, and only those", async (t) => {
      const { turns, session, clock } = await openWithSession(backend, t);
      const [early, late, running] = [newTurn(session.id), newTurn(session.id), newTurn(session.id)];
      for (const turn of [early, late, running]) {
        await turns.begin(turn);
        for (const seq of [0, 1, 2]) await turns.append(turn.id, seq, batch(seq));
      }
      clock.advance(1000);
      await turns.end({ turnId: early.id, status: "complete" });
      clock.advance(1000);
      const cutoff = clock.now();
      await turns.markInterrupted(late.id);
      clock.advance(1000);
      assert.equal(await turns.pruneChunks(cutoff, [early.id]), 0, "a log kept on purpose stays");
      assert.equal(await turns.pruneChunks(cutoff), 3);
      assert.deepEqual(await turns.read(early.id, -1), []);
      assert.equal((await turns.read(late.id, -1)).length, 3, "ended at the cutoff, not before");
      assert.equal((await turns.read(running.id, -1)).length, 3);
      assert.equal(await turns.pruneChunks(cutoff), 0);
      assert.equal(await turns.pruneChunks(clock.now()), 3);
      assert.equal((await turns.read(running.id, -1)).length, 3, "a running turn keeps its log");
      assert.equal((await turns.get(early.id))?.status, "complete", "the turns themselves stay");
    });
  });
}
