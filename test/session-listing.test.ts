import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import { v7 as uuidv7 } from "uuid";
import { listSessionsThenCounts } from "../packages/server/src/storage/session-listing.ts";
import { testBackends } from "./_backends.ts";
import { makeTempDir, makeTestApp, querySql } from "./_setup.ts";

// Where the two databases allow it, a page of sessions and its message counts are one statement
// (docs/storage.md); the answer must be the one the page and the counts read apart give.
const layouts = [
  { name: "libSQL, two files", backend: "libsql", sameFile: false },
  { name: "libSQL, one file for both", backend: "libsql", sameFile: true },
  ...(testBackends().includes("postgres")
    ? [{ name: "PostgreSQL, memory in the app's database", backend: "postgres", sameFile: false } as const]
    : []),
] as const;

for (const layout of layouts) {
  test(`${layout.name}: a page of sessions and their message counts come from one statement, as the page and the counts read apart give them`, async (t) => {
    const dataDir = await makeTempDir(t);
    const shared = `file:${path.join(dataDir, "both.db")}`;
    const app = await makeTestApp(t, {
      dataDir,
      backend: layout.backend,
      ...(layout.sameFile ? { environment: { DATABASE_URL: shared, MEMORY_DATABASE_URL: shared } } : {}),
    });
    const text = (words: string) => ({ type: "text" as const, text: words });
    for (const [resourceId, counts] of [
      ["alice", [0, 1, 3, 2, 0, 5, 1]],
      ["bob", [4, 2]],
    ] as const) {
      for (const count of counts) {
        const session = await app.sessions.create(resourceId);
        const messages = Array.from({ length: count }, (_, index) => ({
          id: uuidv7(),
          role: index % 2 === 0 ? ("user" as const) : ("assistant" as const),
          parts: [text(`message ${index} of a session with ${count}`)],
        }));
        if (messages.length > 0) await app.memory.save({ sessionId: session.id, resourceId, messages });
        // An answer still being written is not counted (nor shown).
        if (count === 1) {
          const running = { id: uuidv7(), role: "assistant" as const, parts: [text("half an answer")] };
          await app.memory.save({ sessionId: session.id, resourceId, messages: [running], running: true });
        }
      }
    }
    const apart = listSessionsThenCounts(app.sessions, app.memoryStorage.messages);
    const count = app.memoryStorage.messages.count.bind(app.memoryStorage.messages);
    let countCalls = 0;
    app.memoryStorage.messages.count = (ids) => {
      countCalls += 1;
      return count(ids);
    };
    for (const resourceId of ["alice", "bob", "carol"]) {
      let cursor: string | undefined;
      const seen: number[] = [];
      do {
        const options = { limit: 3, ...(cursor ? { cursor } : {}) };
        const calls = countCalls;
        const page = await app.listSessions(resourceId, options);
        assert.equal(countCalls, calls, "the counts were read apart");
        assert.deepEqual(page, await apart(resourceId, options));
        seen.push(...page.sessions.map((session) => session.messageCount));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      const expected = { alice: [0, 1, 3, 2, 0, 5, 1], bob: [4, 2], carol: [] }[resourceId] ?? [];
      assert.deepEqual(seen, [...expected].reverse());
    }
    // A count the triggers lost track of (another tool's writes skip them) never shows below 0.
    const [newest] = (await app.listSessions("bob", { limit: 1 })).sessions;
    await querySql(app, "UPDATE session_bridge_message_counts SET visible = -3 WHERE thread_id = ?", [newest?.id], {
      memory: true,
    });
    const drifted = await app.listSessions("bob", { limit: 1 });
    assert.equal(drifted.sessions[0]?.messageCount, 0);
    assert.deepEqual(drifted, await apart("bob", { limit: 1 }));
  });
}
