import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { v7 as uuidv7 } from "uuid";
import { openWithClock } from "./_fixtures.ts";
import type { StorageBackend } from "./backend.ts";

const ttlMs = 30_000;

/** The session's turn lease: one turn per session, across processes. */
export function describeTurnLease(backend: StorageBackend) {
  describe(`session turn lease on ${backend.name}`, () => {
    test("only one of two concurrent acquirers wins", async (t) => {
      const { storage } = await openWithClock(backend, t);
      const session = await storage.sessions.create("alice");
      const results = await Promise.all(
        [uuidv7(), uuidv7()].map((leaseId) => storage.sessions.acquireTurnLease("alice", session.id, leaseId, ttlMs)),
      );
      assert.equal(results.filter((won) => won).length, 1);
    });

    test("only one of many concurrent acquirers on two connections wins", async (t) => {
      const opened = await openWithClock(backend, t);
      const other = await opened.another();
      const session = await opened.storage.sessions.create("alice");
      const leaseIds = Array.from({ length: 20 }, () => uuidv7());
      const results = await Promise.all(
        leaseIds.map((leaseId, index) =>
          (index % 2 === 0 ? opened : other).storage.sessions.acquireTurnLease("alice", session.id, leaseId, ttlMs),
        ),
      );
      assert.equal(results.filter((won) => won).length, 1);
      const winner = leaseIds[results.findIndex((won) => won !== undefined)] ?? "";
      // The winner is the holder as both connections see it: only it can renew.
      assert.equal(await other.storage.sessions.renewTurnLease(session.id, winner, ttlMs), true);
      const loser = leaseIds.find((leaseId) => leaseId !== winner) ?? "";
      assert.equal(await opened.storage.sessions.renewTurnLease(session.id, loser, ttlMs), false);
    });

    test("a held lease keeps the session busy until its holder releases it", async (t) => {
      const { storage } = await openWithClock(backend, t);
      const { sessions } = storage;
      const session = await sessions.create("alice");
      const [first, second] = [uuidv7(), uuidv7()];
      assert.ok(await sessions.acquireTurnLease("alice", session.id, first, ttlMs));
      assert.equal(await sessions.acquireTurnLease("alice", session.id, second, ttlMs), undefined);
      await sessions.releaseTurnLease(session.id, second); // not the holder: changes nothing
      assert.equal(await sessions.acquireTurnLease("alice", session.id, second, ttlMs), undefined);
      await sessions.releaseTurnLease(session.id, first);
      assert.ok(await sessions.acquireTurnLease("alice", session.id, second, ttlMs));
      await sessions.releaseTurnLease(session.id, first); // released twice: harmless, and the new holder keeps it
      assert.equal(await sessions.renewTurnLease(session.id, second, ttlMs), true);
    });

    test("a session created with its lease held is busy for others, renewable by its holder, and free once released", async (t) => {
      const { storage } = await openWithClock(backend, t);
      const { sessions } = storage;
      const holder = uuidv7();
      const session = await sessions.create("alice", { title: "held", lease: { leaseId: holder, ttlMs } });
      assert.equal(session.title, "held");
      assert.equal(await sessions.acquireTurnLease("alice", session.id, uuidv7(), ttlMs), undefined);
      assert.equal(await sessions.renewTurnLease(session.id, holder, ttlMs), true);
      await sessions.releaseTurnLease(session.id, holder);
      const next = await sessions.acquireTurnLease("alice", session.id, uuidv7(), ttlMs);
      assert.equal(next?.tookOver, false, "a released lease is no takeover");
    });

    test("taking a lease whose holder's time ran out says it took over; one released does not", async (t) => {
      const { storage, clock } = await openWithClock(backend, t);
      const { sessions } = storage;
      const session = await sessions.create("alice");
      const first = await sessions.acquireTurnLease("alice", session.id, uuidv7(), 1000);
      assert.equal(first?.tookOver, false, "never held before");
      clock.advance(1001);
      const taken = await sessions.acquireTurnLease("alice", session.id, uuidv7(), 1000);
      assert.equal(taken?.tookOver, true);
    });

    test("a lease is taken again once it has expired by the clock", async (t) => {
      const { storage, clock } = await openWithClock(backend, t);
      const { sessions } = storage;
      const session = await sessions.create("alice");
      const [dead, next] = [uuidv7(), uuidv7()];
      assert.ok(await sessions.acquireTurnLease("alice", session.id, dead, 1000));
      clock.advance(999);
      assert.equal(await sessions.acquireTurnLease("alice", session.id, next, 1000), undefined);
      clock.advance(2);
      assert.ok(await sessions.acquireTurnLease("alice", session.id, next, 1000));
      assert.equal(await sessions.renewTurnLease(session.id, dead, 1000), false, "the old holder lost it");
    });

    test("renewing extends the holder's lease and no one else's", async (t) => {
      const { storage, clock } = await openWithClock(backend, t);
      const { sessions } = storage;
      const session = await sessions.create("alice");
      const [holder, other] = [uuidv7(), uuidv7()];
      assert.ok(await sessions.acquireTurnLease("alice", session.id, holder, 1000));
      clock.advance(800);
      assert.equal(await sessions.renewTurnLease(session.id, other, 1000), false);
      assert.equal(await sessions.renewTurnLease(session.id, holder, 1000), true);
      clock.advance(800); // past the first expiry, within the renewed one
      assert.equal(await sessions.acquireTurnLease("alice", session.id, other, 1000), undefined);
      clock.advance(201);
      assert.ok(await sessions.acquireTurnLease("alice", session.id, other, 1000));
    });

    test("renewing a released lease fails: it was lost", async (t) => {
      const { storage } = await openWithClock(backend, t);
      const session = await storage.sessions.create("alice");
      const leaseId = uuidv7();
      await storage.sessions.acquireTurnLease("alice", session.id, leaseId, ttlMs);
      await storage.sessions.releaseTurnLease(session.id, leaseId);
      assert.equal(await storage.sessions.renewTurnLease(session.id, leaseId, ttlMs), false);
    });

    test("taking the lease marks the session used now", async (t) => {
      const { storage, clock } = await openWithClock(backend, t);
      const { sessions } = storage;
      const session = await sessions.create("alice");
      clock.advance(5000);
      const other = await sessions.create("alice");
      clock.advance(5000);
      assert.ok(await sessions.acquireTurnLease("alice", session.id, uuidv7(), ttlMs));
      assert.deepEqual((await sessions.get("alice", session.id))?.lastAccessed, clock.now());
      assert.deepEqual(
        (await sessions.list("alice")).sessions.map((listed) => listed.id),
        [session.id, other.id],
      );
    });

    test("a failed acquire leaves the session as it was", async (t) => {
      const { storage, clock } = await openWithClock(backend, t);
      const session = await storage.sessions.create("alice");
      await storage.sessions.acquireTurnLease("alice", session.id, uuidv7(), ttlMs);
      const held = await storage.sessions.get("alice", session.id);
      clock.advance(1000);
      assert.equal(await storage.sessions.acquireTurnLease("alice", session.id, uuidv7(), ttlMs), undefined);
      assert.deepEqual(await storage.sessions.get("alice", session.id), held);
    });

    test("another resource can neither take nor block the lease; an unknown session has none", async (t) => {
      const { storage } = await openWithClock(backend, t);
      const session = await storage.sessions.create("alice");
      assert.equal(await storage.sessions.acquireTurnLease("bob", session.id, uuidv7(), ttlMs), undefined);
      assert.ok(await storage.sessions.acquireTurnLease("alice", session.id, uuidv7(), ttlMs));
      assert.equal(await storage.sessions.acquireTurnLease("alice", uuidv7(), uuidv7(), ttlMs), undefined);
    });
  });
}
