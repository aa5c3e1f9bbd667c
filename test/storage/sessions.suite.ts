import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { Session } from "@session-bridge/core";
import { v7 as uuidv7 } from "uuid";
import { openWithClock, uuidv7Pattern } from "./_fixtures.ts";
import type { StorageBackend } from "./backend.ts";

const ids = (sessions: Session[]) => sessions.map((session) => session.id);

/** Most recently used first, the id breaking ties: the order `list` promises. */
const byRecentUse = (a: Session, b: Session) =>
  b.lastAccessed.getTime() - a.lastAccessed.getTime() || (a.id < b.id ? 1 : -1);

/** The {@link SessionStore} contract, the turn lease aside (see `session-lease.suite.ts`). */
export function describeSessionStore(backend: StorageBackend) {
  describe(`session store on ${backend.name}`, () => {
    test("creates a UUIDv7 session for a resource, dated by the clock", async (t) => {
      const { storage, clock } = await openWithClock(backend, t);
      const session = await storage.sessions.create("alice", { title: "First" });
      assert.match(session.id, uuidv7Pattern);
      assert.equal(session.resourceId, "alice");
      assert.equal(session.title, "First");
      assert.deepEqual(session.createdAt, clock.now());
      assert.deepEqual(session.lastAccessed, clock.now());
      assert.deepEqual(await storage.sessions.get("alice", session.id), session);
      assert.equal((await storage.sessions.create("alice")).title, null);
    });

    test("another resource's session is simply not found, for every operation", async (t) => {
      const { storage, clock } = await openWithClock(backend, t);
      const { sessions } = storage;
      const session = await sessions.create("alice");
      clock.advance(1000);
      assert.equal(await sessions.get("bob", session.id), undefined);
      assert.equal(await sessions.touch("bob", session.id), false);
      assert.equal(await sessions.rename("bob", session.id, "mine now"), undefined);
      assert.equal(await sessions.acquireTurnLease("bob", session.id, uuidv7(), 60_000), undefined);
      assert.equal(await sessions.delete("bob", session.id), false);
      assert.deepEqual(await sessions.list("bob"), { sessions: [], nextCursor: null });
      assert.deepEqual(await sessions.listByCreation("bob", { after: null, limit: 10 }), []);
      assert.equal(await sessions.count("bob"), 0);
      assert.deepEqual(await sessions.get("alice", session.id), session, "nothing of it changed");
    });

    test("an unknown session is not found either", async (t) => {
      const { storage } = await openWithClock(backend, t);
      const unknown = uuidv7();
      assert.equal(await storage.sessions.get("alice", unknown), undefined);
      assert.equal(await storage.sessions.touch("alice", unknown), false);
      assert.equal(await storage.sessions.rename("alice", unknown, "x"), undefined);
      assert.equal(await storage.sessions.delete("alice", unknown), false);
    });

    test("touch marks the session used now and moves it to the front of the list", async (t) => {
      const { storage, clock } = await openWithClock(backend, t);
      const { sessions } = storage;
      const older = await sessions.create("alice");
      clock.advance(1000);
      const newer = await sessions.create("alice");
      assert.deepEqual(ids((await sessions.list("alice")).sessions), [newer.id, older.id]);
      clock.advance(1000);
      assert.equal(await sessions.touch("alice", older.id), true);
      const page = await sessions.list("alice");
      assert.deepEqual(ids(page.sessions), [older.id, newer.id]);
      assert.deepEqual(page.sessions[0]?.lastAccessed, clock.now());
      assert.deepEqual(page.sessions[0]?.createdAt, older.createdAt, "creation time stays");
    });

    test("pages through a resource's sessions with a cursor, most recent first, the id breaking ties", async (t) => {
      const { storage, clock } = await openWithClock(backend, t);
      const { sessions } = storage;
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
        seen.push(...ids(page.sessions));
        cursor = page.nextCursor;
      } while (cursor);
      assert.deepEqual(seen, ids([...created].sort(byRecentUse)));
    });

    test("a session touched while paging is never listed twice, and no untouched one is missed", async (t) => {
      const { storage, clock } = await openWithClock(backend, t);
      const { sessions } = storage;
      const created: Session[] = [];
      for (let index = 0; index < 8; index++) {
        created.push(await sessions.create("alice"));
        if (index % 3 === 0) clock.advance(10); // ties too
      }
      const expected = [...created].sort(byRecentUse);
      const first = await sessions.list("alice", { limit: 3 });
      assert.deepEqual(ids(first.sessions), ids(expected.slice(0, 3)));
      // One already listed and one not listed yet are used meanwhile: both jump to the front.
      const touched = [expected[0], expected[5]].map((session) => session?.id ?? "");
      clock.advance(10);
      for (const id of touched) assert.equal(await sessions.touch("alice", id), true);

      const seen = ids(first.sessions);
      let cursor = first.nextCursor;
      while (cursor) {
        const page = await sessions.list("alice", { limit: 3, cursor });
        seen.push(...ids(page.sessions));
        cursor = page.nextCursor;
      }
      assert.equal(new Set(seen).size, seen.length, `listed twice: ${seen}`);
      const untouched = ids(expected).filter((id) => !touched.includes(id));
      assert.deepEqual(
        seen.filter((id) => untouched.includes(id)),
        untouched,
      );
    });

    test("the last page has no next cursor", async (t) => {
      const { storage } = await openWithClock(backend, t);
      await storage.sessions.create("alice");
      await storage.sessions.create("alice");
      assert.equal((await storage.sessions.list("alice", { limit: 2 })).nextCursor, null);
      assert.notEqual((await storage.sessions.list("alice", { limit: 1 })).nextCursor, null);
      assert.equal((await storage.sessions.list("alice")).sessions.length, 2, "the default page holds both");
    });

    test("a page holds 20 sessions by default and at most 100", async (t) => {
      const { storage } = await openWithClock(backend, t);
      for (let index = 0; index < 21; index++) await storage.sessions.create("alice");
      const page = await storage.sessions.list("alice");
      assert.equal(page.sessions.length, 20);
      assert.notEqual(page.nextCursor, null);
      assert.equal((await storage.sessions.list("alice", { limit: 100 })).sessions.length, 21);
    });

    test("rejects a cursor it did not issue and a limit out of range as an invalid request", async (t) => {
      const { storage } = await openWithClock(backend, t);
      for (const cursor of ["nonsense", Buffer.from('{"a":1}').toString("base64url"), "W1tdXQ"]) {
        await assert.rejects(storage.sessions.list("alice", { cursor }), {
          name: "InvalidRequestError",
          code: "invalid_request",
          field: "cursor",
        });
      }
      for (const limit of [0, 101, 1.5, -1]) {
        await assert.rejects(storage.sessions.list("alice", { limit }), {
          name: "InvalidRequestError",
          code: "invalid_request",
          field: "limit",
        });
      }
    });

    test("lists by creation after a key that never moves, even when sessions are used meanwhile", async (t) => {
      const { storage, clock } = await openWithClock(backend, t);
      const { sessions } = storage;
      const created: Session[] = [];
      for (let index = 0; index < 5; index++) {
        created.push(await sessions.create("alice"));
        if (index % 2 === 1) clock.advance(10); // some share a creation time
      }
      await sessions.create("bob");
      const expected = [...created].sort(
        (a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : 1),
      );
      const seen: Session[] = [];
      for (;;) {
        const page = await sessions.listByCreation("alice", { after: seen.at(-1) ?? null, limit: 2 });
        if (page.length === 0) break;
        assert.ok(page.length <= 2);
        seen.push(...page);
        clock.advance(10);
        await sessions.touch("alice", expected[0]?.id ?? ""); // use moves nothing in this order
      }
      assert.deepEqual(ids(seen), ids(expected));
    });

    test("counts a resource's sessions", async (t) => {
      const { storage } = await openWithClock(backend, t);
      assert.equal(await storage.sessions.count("alice"), 0);
      const session = await storage.sessions.create("alice");
      await storage.sessions.create("alice");
      await storage.sessions.create("bob");
      assert.equal(await storage.sessions.count("alice"), 2);
      await storage.sessions.delete("alice", session.id);
      assert.equal(await storage.sessions.count("alice"), 1);
    });

    test("renames a session and clears its title with null", async (t) => {
      const { storage } = await openWithClock(backend, t);
      const session = await storage.sessions.create("alice");
      const renamed = await storage.sessions.rename("alice", session.id, "Trip plans");
      assert.deepEqual(renamed, { ...session, title: "Trip plans" });
      assert.equal((await storage.sessions.get("alice", session.id))?.title, "Trip plans");
      assert.equal((await storage.sessions.rename("alice", session.id, null))?.title, null);
      assert.equal((await storage.sessions.get("alice", session.id))?.title, null);
    });

    test("deletes a session once", async (t) => {
      const { storage } = await openWithClock(backend, t);
      const session = await storage.sessions.create("alice");
      const keep = await storage.sessions.create("alice");
      assert.equal(await storage.sessions.delete("alice", session.id), true);
      assert.equal(await storage.sessions.get("alice", session.id), undefined);
      assert.equal(await storage.sessions.delete("alice", session.id), false);
      assert.deepEqual(ids((await storage.sessions.list("alice")).sessions), [keep.id]);
    });

    test("finds sessions of every resource not used since a time, oldest first", async (t) => {
      const { storage, clock } = await openWithClock(backend, t);
      const { sessions } = storage;
      const oldest = await sessions.create("alice");
      clock.advance(10);
      const older = await sessions.create("bob");
      clock.advance(10);
      const recent = await sessions.create("alice");
      clock.advance(10);
      await sessions.touch("alice", oldest.id); // used again: no longer idle
      assert.deepEqual(ids(await sessions.findIdle(recent.lastAccessed, 10)), [older.id]);
      assert.deepEqual(ids(await sessions.findIdle(clock.now(), 10)), [older.id, recent.id]);
      assert.deepEqual(ids(await sessions.findIdle(clock.now(), 1)), [older.id]);
      assert.deepEqual(ids(await sessions.findIdle(new Date(clock.now().getTime() + 1), 10)), [
        older.id,
        recent.id,
        oldest.id,
      ]);
    });

    test("finds the sessions beyond each resource's newest, least recently used first", async (t) => {
      const { storage, clock } = await openWithClock(backend, t);
      const create = async (resourceId: string) => {
        clock.advance(10);
        return storage.sessions.create(resourceId);
      };
      const alice0 = await create("alice");
      const bob0 = await create("bob");
      const alice1 = await create("alice");
      const bob1 = await create("bob");
      await create("alice");
      await create("carol");
      assert.deepEqual(ids(await storage.sessions.findBeyondLimit(1, 10)), [alice0.id, bob0.id, alice1.id]);
      assert.deepEqual(ids(await storage.sessions.findBeyondLimit(1, 2)), [alice0.id, bob0.id]);
      assert.deepEqual(ids(await storage.sessions.findBeyondLimit(2, 10)), [alice0.id]);
      assert.deepEqual(await storage.sessions.findBeyondLimit(3, 10), []);
      clock.advance(10);
      await storage.sessions.touch("bob", bob0.id); // now bob1 is bob's least recently used
      assert.deepEqual(ids(await storage.sessions.findBeyondLimit(1, 10)), [alice0.id, alice1.id, bob1.id]);
    });

    test("restores a session with its own id and times, once", async (t) => {
      const { storage } = await openWithClock(backend, t);
      const session: Session = {
        id: uuidv7(),
        resourceId: "alice",
        title: "Imported",
        createdAt: new Date("2025-03-01T10:00:00.123Z"),
        lastAccessed: new Date("2025-04-01T10:00:00.456Z"),
      };
      assert.equal(await storage.sessions.restore(session), true);
      assert.deepEqual(await storage.sessions.get("alice", session.id), session);
      assert.equal(await storage.sessions.restore({ ...session, resourceId: "bob", title: "Other" }), false);
      assert.deepEqual(await storage.sessions.get("alice", session.id), session, "the first one stays");
      assert.equal(await storage.sessions.get("bob", session.id), undefined);
    });

    test("names the owner of each existing session id, of any resource", async (t) => {
      const { storage } = await openWithClock(backend, t);
      const alices = await storage.sessions.create("alice");
      const bobs = await storage.sessions.create("bob");
      const owners = await storage.sessions.ownersOf([alices.id, bobs.id, uuidv7()]);
      assert.deepEqual(
        owners,
        new Map([
          [alices.id, "alice"],
          [bobs.id, "bob"],
        ]),
      );
      assert.deepEqual(await storage.sessions.ownersOf([]), new Map());
    });
  });
}
