import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { openWithClock } from "./_fixtures.ts";
import type { StorageBackend } from "./backend.ts";

/** The {@link MaintenanceLocks} contract: one live holder per name, across connections; a dead holder's lock expires. */
export function describeMaintenanceLocks(backend: StorageBackend) {
  describe(`maintenance locks on ${backend.name}`, () => {
    test("one holder at a time; the holder gives it back, then another may take it", async (t) => {
      const { storage } = await openWithClock(backend, t);
      const { locks } = storage;
      assert.equal(await locks.tryAcquire("cleanup", "process-a", 60_000), true);
      assert.equal(await locks.tryAcquire("cleanup", "process-b", 60_000), false, "held by a");
      assert.equal(await locks.tryAcquire("reindex", "process-b", 60_000), true, "another name is another lock");
      await locks.release("cleanup", "process-b"); // not b's to give back
      assert.equal(await locks.tryAcquire("cleanup", "process-b", 60_000), false, "still a's");
      await locks.release("cleanup", "process-a");
      assert.equal(await locks.tryAcquire("cleanup", "process-b", 60_000), true);
    });

    test("a lock whose holder never gave it back expires", async (t) => {
      const { storage, clock } = await openWithClock(backend, t);
      assert.equal(await storage.locks.tryAcquire("cleanup", "died", 60_000), true);
      clock.advance(59_999);
      assert.equal(await storage.locks.tryAcquire("cleanup", "alive", 60_000), false);
      clock.advance(2);
      assert.equal(await storage.locks.tryAcquire("cleanup", "alive", 60_000), true);
    });

    test("of many processes asking at once, exactly one gets it", async (t) => {
      const opened = await openWithClock(backend, t);
      const other = await opened.another();
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, index) =>
          (index % 2 ? other : opened).storage.locks.tryAcquire("cleanup", `process-${index}`, 60_000),
        ),
      );
      assert.equal(results.filter(Boolean).length, 1);
    });
  });
}
