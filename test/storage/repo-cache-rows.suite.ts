import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { RepoCacheEntry } from "@session-bridge/core";
import { openWithClock } from "./_fixtures.ts";
import type { StorageBackend } from "./backend.ts";

const entry = (resourceKey: string, lastAccessed: string, fields: Partial<RepoCacheEntry> = {}): RepoCacheEntry => ({
  resourceKey,
  url: `https://example.com/${resourceKey}.git`,
  ref: "main",
  searchPath: null,
  localPath: `/data/repos/${resourceKey}`,
  commit: "0123456789abcdef0123456789abcdef01234567",
  clonedAt: new Date("2026-01-01T00:00:00.000Z"),
  lastUpdated: new Date("2026-01-01T00:00:00.500Z"),
  lastAccessed: new Date(lastAccessed),
  ...fields,
});

const byKey = (a: RepoCacheEntry, b: RepoCacheEntry) => (a.resourceKey < b.resourceKey ? -1 : 1);

/** The {@link RepoCacheRows} contract: one row per cached checkout. */
export function describeRepoCacheRows(backend: StorageBackend) {
  describe(`repository cache rows on ${backend.name}`, () => {
    test("puts a row and gets it back; putting it again replaces it", async (t) => {
      const { storage } = await openWithClock(backend, t);
      const row = entry("a", "2026-01-02T00:00:00.000Z", { ref: null, searchPath: "docs/guide" });
      await storage.repos.put(row);
      assert.deepEqual(await storage.repos.get("a"), row);
      const replaced = entry("a", "2026-01-03T00:00:00.000Z", { commit: "f".repeat(40), localPath: "/elsewhere" });
      await storage.repos.put(replaced);
      assert.deepEqual(await storage.repos.get("a"), replaced);
      assert.equal(await storage.repos.get("b"), undefined);
    });

    test("updates only the given fields of an existing row", async (t) => {
      const { storage } = await openWithClock(backend, t);
      const row = entry("a", "2026-01-02T00:00:00.000Z");
      await storage.repos.put(row);
      const lastAccessed = new Date("2026-02-01T00:00:00.001Z");
      await storage.repos.update("a", { lastAccessed });
      assert.deepEqual(await storage.repos.get("a"), { ...row, lastAccessed });
      const changes = { commit: "e".repeat(40), lastUpdated: new Date("2026-02-02T00:00:00.002Z") };
      await storage.repos.update("a", changes);
      assert.deepEqual(await storage.repos.get("a"), { ...row, lastAccessed, ...changes });
      await storage.repos.update("missing", { lastAccessed });
      assert.equal(await storage.repos.get("missing"), undefined, "an update creates nothing");
    });

    test("deletes a row and returns it, once", async (t) => {
      const { storage } = await openWithClock(backend, t);
      const row = entry("a", "2026-01-02T00:00:00.000Z");
      await storage.repos.put(row);
      await storage.repos.put(entry("b", "2026-01-02T00:00:00.000Z"));
      assert.deepEqual(await storage.repos.delete("a"), row);
      assert.equal(await storage.repos.get("a"), undefined);
      assert.equal(await storage.repos.delete("a"), undefined);
      assert.deepEqual(
        (await storage.repos.list()).map((listed) => listed.resourceKey),
        ["b"],
      );
    });

    test("lists every row", async (t) => {
      const { storage } = await openWithClock(backend, t);
      assert.deepEqual(await storage.repos.list(), []);
      const rows = [entry("b", "2026-01-02T00:00:00.000Z"), entry("a", "2026-01-03T00:00:00.000Z")];
      for (const row of rows) await storage.repos.put(row);
      assert.deepEqual((await storage.repos.list()).sort(byKey), [...rows].sort(byKey));
    });

    test("finds rows not used since a time, oldest first", async (t) => {
      const { storage } = await openWithClock(backend, t);
      for (const row of [
        entry("newest", "2026-01-05T00:00:00.000Z"),
        entry("oldest", "2026-01-01T00:00:00.000Z"),
        entry("middle", "2026-01-03T00:00:00.000Z"),
      ]) {
        await storage.repos.put(row);
      }
      const idle = async (before: string) =>
        (await storage.repos.findIdle(new Date(before))).map((row) => row.resourceKey);
      assert.deepEqual(await idle("2026-01-05T00:00:00.000Z"), ["oldest", "middle"]);
      assert.deepEqual(await idle("2026-01-05T00:00:00.001Z"), ["oldest", "middle", "newest"]);
      assert.deepEqual(await idle("2026-01-01T00:00:00.000Z"), []);
    });
  });
}
