import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { openWithClock } from "./_fixtures.ts";
import type { StorageBackend } from "./backend.ts";

/** The {@link UsageStore} contract: one row per resource, UTC day and model, counted up in place. */
export function describeUsageStore(backend: StorageBackend) {
  describe(`usage store on ${backend.name}`, () => {
    test("counts turns and tokens per UTC day and model, newest day first", async (t) => {
      const { storage, clock } = await openWithClock(backend, t);
      const { usage } = storage;
      clock.set(new Date("2026-03-01T00:00:00.000Z"));
      await usage.record("alice", "openai:gpt-4.1-mini", { inputTokens: 10, outputTokens: 20 });
      clock.set(new Date("2026-03-01T23:59:59.999Z"));
      await usage.record("alice", "openai:gpt-4.1-mini", { inputTokens: 1, outputTokens: 2 });
      await usage.record("alice", "local:demo", { inputTokens: 0, outputTokens: 0 });
      clock.set(new Date("2026-03-02T00:00:00.000Z"));
      await usage.record("alice", "openai:gpt-4.1-mini", { inputTokens: 100, outputTokens: 200 });
      const days = await usage.list("alice");
      assert.deepEqual(
        days.slice(0, 1),
        [{ day: "2026-03-02", model: "openai:gpt-4.1-mini", turns: 1, inputTokens: 100, outputTokens: 200 }],
        "the newest day first",
      );
      assert.deepEqual(
        days.slice(1).sort((a, b) => (a.model < b.model ? -1 : 1)),
        [
          { day: "2026-03-01", model: "local:demo", turns: 1, inputTokens: 0, outputTokens: 0 },
          { day: "2026-03-01", model: "openai:gpt-4.1-mini", turns: 2, inputTokens: 11, outputTokens: 22 },
        ],
      );
    });

    test("the day is the UTC day, whatever the local time zone says", async (t) => {
      const { storage, clock } = await openWithClock(backend, t);
      clock.set(new Date("2026-06-30T23:30:00.000-05:00")); // already July 1st in UTC
      await storage.usage.record("alice", "local:demo", { inputTokens: 1, outputTokens: 1 });
      assert.equal((await storage.usage.list("alice"))[0]?.day, "2026-07-01");
    });

    test("each resource sees only its own usage", async (t) => {
      const { storage } = await openWithClock(backend, t);
      await storage.usage.record("alice", "local:demo", { inputTokens: 1, outputTokens: 2 });
      await storage.usage.record("bob", "local:demo", { inputTokens: 30, outputTokens: 40 });
      assert.deepEqual(
        (await storage.usage.list("alice")).map(({ turns, inputTokens, outputTokens }) => [
          turns,
          inputTokens,
          outputTokens,
        ]),
        [[1, 1, 2]],
      );
      assert.deepEqual(await storage.usage.list("carol"), []);
    });

    test("concurrent records on two connections are all counted", async (t) => {
      const opened = await openWithClock(backend, t);
      const other = await opened.another();
      await Promise.all(
        Array.from({ length: 20 }, (_, index) =>
          (index % 2 === 0 ? opened : other).storage.usage.record("alice", "local:demo", {
            inputTokens: 1,
            outputTokens: 2,
          }),
        ),
      );
      const [day] = await opened.storage.usage.list("alice");
      assert.deepEqual([day?.turns, day?.inputTokens, day?.outputTokens], [20, 20, 40]);
    });
  });
}
