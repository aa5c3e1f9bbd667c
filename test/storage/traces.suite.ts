import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { openWithClock, turnTrace } from "./_fixtures.ts";
import type { StorageBackend } from "./backend.ts";

/** The {@link TraceStore} contract: one trace per turn, read back as it was saved. */
export function describeTraceStore(backend: StorageBackend) {
  describe(`trace store on ${backend.name}`, () => {
    test("lists a session's traces oldest first, with their times as Dates", async (t) => {
      const { storage } = await openWithClock(backend, t);
      const session = await storage.sessions.create("alice");
      const later = turnTrace(new Date("2026-01-01T10:00:05.000Z"));
      const earlier = turnTrace(new Date("2026-01-01T10:00:00.000Z"), { outcome: "failed", endedAt: null });
      await storage.traces.save(session.id, later);
      await storage.traces.save(session.id, earlier);
      const listed = await storage.traces.listForSession(session.id);
      assert.deepEqual(listed, [earlier, later]);
      assert.ok(listed[1]?.startedAt instanceof Date);
      assert.ok(listed[1]?.endedAt instanceof Date);
      assert.ok(listed[1]?.transitions[0]?.at instanceof Date);
    });

    test("saving a turn's trace again replaces it", async (t) => {
      const { storage } = await openWithClock(backend, t);
      const session = await storage.sessions.create("alice");
      const running = turnTrace(new Date("2026-01-01T10:00:00.000Z"), { endedAt: null, toolCalls: [] });
      await storage.traces.save(session.id, running);
      const ended = { ...running, endedAt: new Date("2026-01-01T10:00:09.000Z"), outcome: "stopped" as const };
      await storage.traces.save(session.id, ended);
      assert.deepEqual(await storage.traces.listForSession(session.id), [ended]);
    });

    test("lists only the session's own traces", async (t) => {
      const { storage } = await openWithClock(backend, t);
      const [session, other] = [await storage.sessions.create("alice"), await storage.sessions.create("alice")];
      const trace = turnTrace(new Date("2026-01-01T10:00:00.000Z"));
      await storage.traces.save(session.id, trace);
      await storage.traces.save(other.id, turnTrace(new Date("2026-01-01T09:00:00.000Z")));
      assert.deepEqual(await storage.traces.listForSession(session.id), [trace]);
      assert.deepEqual(await storage.traces.listForSession((await storage.sessions.create("alice")).id), []);
    });
  });
}
