import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Memory, maxMemoryLength } from "@session-bridge/core";
import { v7 as uuidv7 } from "uuid";
import { openWithClock, uuidv7Pattern } from "./_fixtures.ts";
import type { StorageBackend } from "./backend.ts";

const ids = (memories: Memory[]) => memories.map((memory) => memory.id);

/** The {@link MemoryStore} contract: standing instructions, always seen through their owner. */
export function describeMemoryStore(backend: StorageBackend) {
  describe(`memory store on ${backend.name}`, () => {
    test("adds a user memory with its text trimmed, dated by the clock", async (t) => {
      const { storage, clock } = await openWithClock(backend, t);
      const memory = await storage.memories.add("alice", { scope: "user", text: "  Use British spelling  \n" });
      assert.match(memory.id, uuidv7Pattern);
      assert.deepEqual(memory, {
        id: memory.id,
        resourceId: "alice",
        scope: "user",
        sessionId: null,
        text: "Use British spelling",
        createdAt: clock.now(),
      });
      assert.deepEqual(await storage.memories.list("alice"), [memory]);
    });

    test("adds a session memory to one of the resource's sessions", async (t) => {
      const { storage } = await openWithClock(backend, t);
      const session = await storage.sessions.create("alice");
      const memory = await storage.memories.add("alice", { scope: "session", sessionId: session.id, text: "Be brief" });
      assert.equal(memory.scope, "session");
      assert.equal(memory.sessionId, session.id);
      assert.deepEqual(await storage.memories.list("alice"), [memory]);
    });

    test("refuses empty or overlong text and a session where the scope does not take one", async (t) => {
      const { storage } = await openWithClock(backend, t);
      const session = await storage.sessions.create("alice");
      const invalid = { name: "InvalidRequestError", code: "invalid_request" };
      for (const text of ["", "   \n\t", "x".repeat(maxMemoryLength + 1)]) {
        await assert.rejects(storage.memories.add("alice", { scope: "user", text }), { ...invalid, field: "text" });
      }
      await assert.rejects(storage.memories.add("alice", { scope: "session", text: "x" }), invalid);
      await assert.rejects(storage.memories.add("alice", { scope: "user", sessionId: session.id, text: "x" }), invalid);
      assert.deepEqual(await storage.memories.list("alice"), []);
      const longest = await storage.memories.add("alice", { scope: "user", text: ` ${"x".repeat(maxMemoryLength)} ` });
      assert.equal(longest.text.length, maxMemoryLength);
    });

    test("refuses a session memory for a session that is not the resource's", async (t) => {
      const { storage } = await openWithClock(backend, t);
      const bobs = await storage.sessions.create("bob");
      for (const sessionId of [bobs.id, uuidv7()]) {
        await assert.rejects(storage.memories.add("alice", { scope: "session", sessionId, text: "x" }), {
          name: "SessionNotFoundError",
          code: "session_not_found",
          sessionId,
        });
      }
      assert.deepEqual(await storage.memories.list("alice"), []);
      assert.deepEqual(await storage.memories.list("bob"), []);
    });

    test("lists the resource's memories oldest first, filtered by scope and session", async (t) => {
      const { storage, clock } = await openWithClock(backend, t);
      const [first, second] = [await storage.sessions.create("alice"), await storage.sessions.create("alice")];
      const add = async (memory: Parameters<typeof storage.memories.add>[1]) => {
        clock.advance(10);
        return storage.memories.add("alice", memory);
      };
      const inFirst = await add({ scope: "session", sessionId: first.id, text: "Be brief" });
      const userMemory = await add({ scope: "user", text: "Use British spelling" });
      const inSecond = await add({ scope: "session", sessionId: second.id, text: "No commits" });
      await storage.memories.add("bob", { scope: "user", text: "Bob's own" });
      assert.deepEqual(ids(await storage.memories.list("alice")), ids([inFirst, userMemory, inSecond]));
      assert.deepEqual(ids(await storage.memories.list("alice", { scope: "session" })), ids([inFirst, inSecond]));
      assert.deepEqual(ids(await storage.memories.list("alice", { scope: "user" })), ids([userMemory]));
      assert.deepEqual(ids(await storage.memories.list("alice", { sessionId: second.id })), ids([inSecond]));
      assert.deepEqual(await storage.memories.list("carol"), []);
    });

    test("a session gets the user's memories and its own, oldest first", async (t) => {
      const { storage, clock } = await openWithClock(backend, t);
      const [session, other] = [await storage.sessions.create("alice"), await storage.sessions.create("alice")];
      const own = await storage.memories.add("alice", { scope: "session", sessionId: session.id, text: "Be brief" });
      clock.advance(10);
      const userMemory = await storage.memories.add("alice", { scope: "user", text: "Always call me Chris" });
      await storage.memories.add("alice", { scope: "session", sessionId: other.id, text: "Other session" });
      await storage.memories.add("bob", { scope: "user", text: "Bob's own" });
      assert.deepEqual(await storage.memories.forSession("alice", session.id), [own, userMemory]);
      assert.deepEqual(await storage.memories.forSession("bob", session.id), [(await storage.memories.list("bob"))[0]]);
    });

    test("deletes a memory only for its owner", async (t) => {
      const { storage } = await openWithClock(backend, t);
      const memory = await storage.memories.add("alice", { scope: "user", text: "Use British spelling" });
      assert.deepEqual(await storage.memories.list("bob"), []);
      assert.equal(await storage.memories.delete("bob", memory.id), false);
      assert.deepEqual(await storage.memories.list("alice"), [memory]);
      assert.equal(await storage.memories.delete("alice", memory.id), true);
      assert.deepEqual(await storage.memories.list("alice"), []);
      assert.equal(await storage.memories.delete("alice", memory.id), false);
    });

    test("restores a memory as it is, once, and gets memories of any resource by id", async (t) => {
      const { storage } = await openWithClock(backend, t);
      const session = await storage.sessions.create("alice");
      const memory: Memory = {
        id: uuidv7(),
        resourceId: "alice",
        scope: "session",
        sessionId: session.id,
        text: "  kept as it was  ",
        createdAt: new Date("2025-02-03T04:05:06.789Z"),
      };
      assert.equal(await storage.memories.restore(memory), true);
      assert.deepEqual(await storage.memories.list("alice"), [memory]);
      assert.equal(await storage.memories.restore({ ...memory, text: "changed" }), false);
      const bobs = await storage.memories.add("bob", { scope: "user", text: "Bob's own" });
      const found = await storage.memories.getMany([memory.id, bobs.id, uuidv7()]);
      assert.deepEqual(
        found.sort((a, b) => (a.id < b.id ? -1 : 1)),
        [memory, bobs].sort((a, b) => (a.id < b.id ? -1 : 1)),
      );
      assert.deepEqual(await storage.memories.getMany([]), []);
    });
  });
}
