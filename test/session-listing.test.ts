import assert from "node:assert/strict";
import path from "node:path";
import { type TestContext, test } from "node:test";
import { v7 as uuidv7 } from "uuid";
import { listSessionsThenCounts } from "../packages/server/src/storage/session-listing.ts";
import { type BackendName, freshPostgresDatabase, testBackends } from "./_backends.ts";
import { makeTempDir, makeTestApp, querySql } from "./_setup.ts";

// Where the two databases allow it, a page of sessions and its message counts are one statement
// (docs/storage.md); the answer must be the one the page and the counts read apart give.
interface Layout {
  name: string;
  backend: BackendName;
  /** Where the two databases are (none: the backend's defaults). */
  environment?: (dataDir: string, t: TestContext) => Promise<Record<string, string>>;
  /** One statement for the page and its counts; else the counts are read apart. */
  joined: boolean;
}

const layouts: Layout[] = [
  { name: "libSQL, two files", backend: "libsql", joined: true },
  {
    name: "libSQL, one file for both",
    backend: "libsql",
    environment: async (dataDir) => {
      const both = `file:${path.join(dataDir, "both.db")}`;
      return { DATABASE_URL: both, MEMORY_DATABASE_URL: both };
    },
    joined: true,
  },
  ...(testBackends().includes("postgres")
    ? [
        { name: "PostgreSQL, memory in the app's database", backend: "postgres", joined: true } as const,
        {
          name: "PostgreSQL, memory in another database",
          backend: "postgres",
          environment: async (_dataDir: string, t: TestContext) => ({
            DATABASE_URL: await freshPostgresDatabase(t),
            MEMORY_DATABASE_URL: await freshPostgresDatabase(t),
          }),
          joined: false,
        } as const,
      ]
    : []),
];

for (const layout of layouts) {
  const how = layout.joined ? "come from one statement" : "are read apart";
  test(`${layout.name}: a page of sessions and their message counts ${how}, as the page and the counts read apart give them`, async (t) => {
    const dataDir = await makeTempDir(t);
    const app = await makeTestApp(t, {
      dataDir,
      backend: layout.backend,
      ...(layout.environment ? { environment: await layout.environment(dataDir, t) } : {}),
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
        assert.equal(countCalls, layout.joined ? calls : calls + 1, "the counts were read apart, or not");
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
