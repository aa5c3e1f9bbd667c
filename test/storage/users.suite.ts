import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { User } from "@session-bridge/core";
import { v7 as uuidv7 } from "uuid";
import { openWithClock, uuidv7Pattern } from "./_fixtures.ts";
import type { StorageBackend } from "./backend.ts";

const hour = 3_600_000;
const byId = (a: User, b: User) => (a.id < b.id ? -1 : 1);

/** The {@link UserStore} contract: users, API keys shown once, bearer tokens. */
export function describeUserStore(backend: StorageBackend) {
  describe(`user store on ${backend.name}`, () => {
    test("creates a user with a new API key, returned this once", async (t) => {
      const { storage, clock } = await openWithClock(backend, t);
      const { user, apiKey } = await storage.users.create("alice");
      assert.match(user.id, uuidv7Pattern);
      assert.deepEqual(user, { id: user.id, name: "alice", createdAt: clock.now(), revokedAt: null });
      assert.ok(apiKey.length >= 32, "a long random secret");
      assert.deepEqual(await storage.users.get(user.id), user, "the key is nowhere in what is read back");
      const other = await storage.users.create("alice");
      assert.notEqual(other.user.id, user.id);
      assert.notEqual(other.apiKey, apiKey);
    });

    test("trims the name and refuses an empty or overlong one", async (t) => {
      const { storage } = await openWithClock(backend, t);
      assert.equal((await storage.users.create("  alice \n")).user.name, "alice");
      assert.equal((await storage.users.create("x".repeat(200))).user.name.length, 200);
      for (const name of ["", "   ", "x".repeat(201)]) {
        await assert.rejects(storage.users.create(name), {
          name: "InvalidRequestError",
          code: "invalid_request",
          field: "name",
        });
      }
      assert.equal((await storage.users.list()).length, 2);
    });

    test("creates a user with a given id and creation time, for import", async (t) => {
      const { storage } = await openWithClock(backend, t);
      const id = uuidv7();
      const createdAt = new Date("2024-12-24T18:00:00.250Z");
      const { user } = await storage.users.create("imported", { id, createdAt });
      assert.deepEqual(user, { id, name: "imported", createdAt, revokedAt: null });
      assert.deepEqual(await storage.users.get(id), user);
    });

    test("gets and lists users; an unknown id is not found", async (t) => {
      const { storage } = await openWithClock(backend, t);
      assert.deepEqual(await storage.users.list(), []);
      const alice = (await storage.users.create("alice")).user;
      const bob = (await storage.users.create("bob")).user;
      assert.deepEqual((await storage.users.list()).sort(byId), [alice, bob].sort(byId));
      assert.deepEqual(await storage.users.get(bob.id), bob);
      assert.equal(await storage.users.get(uuidv7()), undefined);
    });

    test("exchanges the right API key for a token that names its user, and no other key", async (t) => {
      const { storage, clock } = await openWithClock(backend, t);
      const alice = await storage.users.create("alice");
      const bob = await storage.users.create("bob");
      const issued = await storage.users.issueToken(alice.apiKey, hour);
      assert.ok(issued);
      assert.deepEqual(issued.expiresAt, new Date(clock.now().getTime() + hour));
      assert.notEqual(issued.token, alice.apiKey);
      assert.equal(await storage.users.verifyToken(issued.token), alice.user.id);
      const bobs = await storage.users.issueToken(bob.apiKey, hour);
      assert.equal(await storage.users.verifyToken(bobs?.token ?? ""), bob.user.id);
      assert.notEqual(bobs?.token, issued.token);
      for (const wrong of ["", "sbk_wrong", `${alice.apiKey}x`, alice.apiKey.slice(0, -1), issued.token]) {
        assert.equal(await storage.users.issueToken(wrong, hour), undefined, JSON.stringify(wrong));
      }
    });

    test("a token expires by the clock", async (t) => {
      const { storage, clock } = await openWithClock(backend, t);
      const { user, apiKey } = await storage.users.create("alice");
      const issued = await storage.users.issueToken(apiKey, hour);
      clock.advance(hour - 1);
      assert.equal(await storage.users.verifyToken(issued?.token ?? ""), user.id);
      clock.advance(2);
      assert.equal(await storage.users.verifyToken(issued?.token ?? ""), undefined);
      const fresh = await storage.users.issueToken(apiKey, hour);
      assert.equal(await storage.users.verifyToken(fresh?.token ?? ""), user.id, "the key still works");
    });

    test("an API key is never accepted as a token, nor anything else", async (t) => {
      const { storage } = await openWithClock(backend, t);
      const { apiKey } = await storage.users.create("alice");
      await storage.users.issueToken(apiKey, hour);
      for (const notAToken of [apiKey, "", "sbt_made-up", uuidv7()]) {
        assert.equal(await storage.users.verifyToken(notAToken), undefined, JSON.stringify(notAToken));
      }
    });

    test("revoking ends the user's tokens at once and refuses new ones", async (t) => {
      const { storage, clock } = await openWithClock(backend, t);
      const alice = await storage.users.create("alice");
      const bob = await storage.users.create("bob");
      const alicesToken = (await storage.users.issueToken(alice.apiKey, hour))?.token ?? "";
      const bobsToken = (await storage.users.issueToken(bob.apiKey, hour))?.token ?? "";
      clock.advance(1000);
      assert.equal(await storage.users.revoke(alice.user.id), true);
      assert.equal(await storage.users.verifyToken(alicesToken), undefined);
      assert.equal(await storage.users.issueToken(alice.apiKey, hour), undefined);
      assert.deepEqual(await storage.users.get(alice.user.id), { ...alice.user, revokedAt: clock.now() });
      assert.equal(await storage.users.verifyToken(bobsToken), bob.user.id, "other users keep theirs");
      assert.equal(await storage.users.revoke(alice.user.id), false, "already revoked");
      assert.equal(await storage.users.revoke(uuidv7()), false);
    });
  });
}
