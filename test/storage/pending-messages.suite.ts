import assert from "node:assert/strict";
import { describe, type TestContext, test } from "node:test";
import type { PendingMessage } from "@session-bridge/core";
import { at, makeThread, userMessage } from "./_messages.ts";
import type { StorageBackend } from "./backend.ts";

async function openMessages(backend: StorageBackend, t: TestContext) {
  const { memory } = await backend.open(t);
  return memory.messages;
}

/** Keys in the order `listPending` promises: savedAt, then key. */
const byPendingOrder = (a: PendingMessage, b: PendingMessage) =>
  a.savedAt - b.savedAt || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/** Pending rows of the {@link MessageStore}: messages saved but not yet embedded. */
export function describePendingMessages(backend: StorageBackend) {
  describe(`pending messages on ${backend.name}`, () => {
    test("messages saved as pending are listed in (savedAt, key) order; others are not", async (t) => {
      const messages = await openMessages(backend, t);
      const thread = await makeThread(messages);
      const saved = (id: string, second: number) => thread.stored(userMessage(id, id), at(second));
      const [m1, m2, m0, indexed] = [saved("m1", 1), saved("m2", 2), saved("m0", 0), saved("indexed", 3)];
      await messages.save([m2, m1], { pending: true, now: at(20) });
      await messages.save([m0], { pending: true, now: at(10) });
      await messages.save([indexed], { pending: false, now: at(30) });
      const pending = await messages.listPending({ after: null, limit: 10 });
      assert.deepEqual(pending, [
        { key: m0.key, savedAt: at(10).getTime() },
        ...[m1.key, m2.key].sort().map((key) => ({ key, savedAt: at(20).getTime() })),
      ]);
      assert.equal(await messages.countPending(), 3);
    });

    test("pages through pending rows after a cursor", async (t) => {
      const messages = await openMessages(backend, t);
      const thread = await makeThread(messages);
      for (const [index, id] of ["a", "b", "c", "d", "e"].entries()) {
        await messages.save([thread.stored(userMessage(id, id), at(index))], { pending: true, now: at(index % 2) });
      }
      const seen: PendingMessage[] = [];
      for (;;) {
        const page = await messages.listPending({ after: seen.at(-1) ?? null, limit: 2 });
        if (page.length === 0) break;
        assert.ok(page.length <= 2);
        seen.push(...page);
      }
      assert.equal(seen.length, 5);
      assert.deepEqual(seen, [...seen].sort(byPendingOrder));
      assert.equal(new Set(seen.map((row) => row.key)).size, 5);
    });

    test("lists and counts one resource's pending rows when asked", async (t) => {
      const messages = await openMessages(backend, t);
      const [alices, bobs] = [await makeThread(messages, "alice"), await makeThread(messages, "bob")];
      const alice = alices.stored(userMessage("m", "alice"), at(1));
      await messages.save([alice], { pending: true, now: at(1) });
      await messages.save([bobs.stored(userMessage("m", "bob"), at(0))], { pending: true, now: at(0) });
      assert.deepEqual(await messages.listPending({ after: null, limit: 10, resourceId: "alice" }), [
        { key: alice.key, savedAt: at(1).getTime() },
      ]);
      assert.equal(await messages.countPending("alice"), 1);
      assert.equal(await messages.countPending("carol"), 0);
      assert.equal(await messages.countPending(), 2);
    });

    test("clearing leaves the rows that were saved again since they were read, even in the same millisecond", async (t) => {
      const messages = await openMessages(backend, t);
      const thread = await makeThread(messages);
      const saved = (id: string, second: number) => thread.stored(userMessage(id, `${id} v1`), at(second));
      const [done, renewed, later] = [saved("done", 0), saved("renewed", 1), saved("later", 2)];
      await messages.save([done, renewed, later], { pending: true, now: at(5) });
      const read = await messages.listPending({ after: null, limit: 10 });
      // The next step of a running answer, saved before the indexer finished with v1.
      await messages.save([{ ...renewed, message: userMessage("renewed", "renewed v2") }], {
        pending: true,
        now: at(5),
      });
      await messages.save([{ ...later, message: userMessage("later", "later v2") }], { pending: true, now: at(6) });
      await messages.clearPending(read);
      const left = await messages.listPending({ after: null, limit: 10 });
      assert.deepEqual(left.map((row) => row.key).sort(), [renewed.key, later.key].sort());
      const renewedRow = left.find((row) => row.key === renewed.key);
      assert.ok((renewedRow?.savedAt ?? 0) > at(5).getTime(), "a save renews the row");
      await messages.clearPending(left);
      assert.equal(await messages.countPending(), 0);
      await messages.clearPending([]);
    });

    test("deleting messages or their session deletes their pending rows", async (t) => {
      const messages = await openMessages(backend, t);
      const [a, b] = [await makeThread(messages), await makeThread(messages)];
      await messages.save(
        ["m1", "m2"].map((id, index) => a.stored(userMessage(id, id), at(index))),
        { pending: true, now: at(1) },
      );
      const kept = b.stored(userMessage("m1", "m1"), at(2));
      await messages.save([kept], { pending: true, now: at(2) });
      await messages.delete(a.sessionId, ["m1"]);
      assert.equal(await messages.countPending(), 2);
      await messages.deleteSession(a.sessionId);
      assert.deepEqual(await messages.listPending({ after: null, limit: 10 }), [
        { key: kept.key, savedAt: at(2).getTime() },
      ]);
    });
  });
}
