import assert from "node:assert/strict";
import path from "node:path";
import { describe, test } from "node:test";
import { createClient } from "@libsql/client";
import { callApi, userMessage } from "./_chat.ts";
import { startServer, startTurn, terminate } from "./_process.ts";
import { makeTempDir } from "./_setup.ts";

/** Counts rows in the two databases of a data dir, for what a session left behind. */
async function leftovers(dataDir: string, sessionId: string) {
  const app = createClient({ url: `file:${path.join(dataDir, "session-bridge.db")}` });
  const memory = createClient({ url: `file:${path.join(dataDir, "memory.db")}` });
  const count = async (client: typeof app, sql: string) =>
    Number((await client.execute({ sql, args: [sessionId] })).rows[0]?.n ?? 0);
  try {
    const vectorTables = (
      await memory.execute(
        "SELECT m.name FROM sqlite_master m WHERE m.type = 'table' AND m.name LIKE 'memory_messages%' AND EXISTS (SELECT 1 FROM pragma_table_info(m.name) WHERE name = 'metadata')",
      )
    ).rows.map((row) => String(row.name));
    let vectors = 0;
    for (const table of vectorTables) {
      vectors += await count(
        memory,
        `SELECT count(*) AS n FROM ${table} WHERE json_extract(metadata, '$."thread_id"') = ?`,
      );
    }
    return {
      sessions: await count(app, "SELECT count(*) AS n FROM sessions WHERE id = ?"),
      turns: await count(app, "SELECT count(*) AS n FROM turns WHERE session_id = ?"),
      traces: await count(app, "SELECT count(*) AS n FROM turn_traces WHERE session_id = ?"),
      toolSessions: await count(app, "SELECT count(*) AS n FROM tool_sessions WHERE session_id = ?"),
      messages: await count(memory, "SELECT count(*) AS n FROM mastra_messages WHERE thread_id = ?"),
      threads: await count(memory, "SELECT count(*) AS n FROM mastra_threads WHERE id = ?"),
      pending: await count(memory, "SELECT count(*) AS n FROM session_bridge_pending_vectors WHERE thread_id = ?"),
      vectors,
    };
  } finally {
    app.close();
    memory.close();
  }
}

const none = { sessions: 0, turns: 0, traces: 0, toolSessions: 0, messages: 0, threads: 0, pending: 0, vectors: 0 };
const longQuestion = `/think ${Array.from({ length: 45 }, (_, index) => `step${index}`).join(" ")}`;

describe("several server processes on one data dir", { timeout: 120_000 }, () => {
  test("a session deleted by one process while another runs its turn leaves nothing behind", async (t) => {
    const dataDir = await makeTempDir(t);
    const [running, deleting] = await Promise.all([startServer(t, dataDir), startServer(t, dataDir)]);
    const opening = await startTurn(running.url, userMessage("remember the blue door"));
    const sessionId = opening.sessionId as string;
    await opening.rest;
    // A two-step turn (a tool call, then a long answer) is mid-stream on the first process…
    const turn = await startTurn(running.url, userMessage(longQuestion), sessionId);
    assert.equal(turn.status, 200);
    // …when the second one deletes the session.
    const deleted = await callApi(deleting.url, "DELETE", `/api/sessions/${sessionId}`);
    assert.equal(deleted.status, 204);
    await turn.rest;
    assert.equal((await callApi(running.url, "GET", `/api/sessions/${sessionId}`)).status, 404);
    // A graceful stop waits for the turn's last work (the answer's vectors, its own check).
    assert.equal(await terminate(running.child), 0);
    assert.equal(await terminate(deleting.child), 0);
    assert.deepEqual(await leftovers(dataDir, sessionId), none);
  });

  test("SIGTERM right after a turn waits for the answer's embedding: no error, nothing left pending", async (t) => {
    const dataDir = await makeTempDir(t);
    const server = await startServer(t, dataDir);
    const turn = await startTurn(server.url, userMessage("a turn right before a deploy"));
    const streamed = await turn.rest;
    assert.match(streamed, /"type":"finish"/);
    assert.equal(await terminate(server.child), 0);
    const errors = server.logs.filter((line) => Number(line.level) >= 50);
    assert.deepEqual(errors, [], "nothing logged at error level");
    const memory = createClient({ url: `file:${path.join(dataDir, "memory.db")}` });
    try {
      const pending = await memory.execute("SELECT count(*) AS n FROM session_bridge_pending_vectors");
      assert.equal(Number(pending.rows[0]?.n), 0, "both messages were embedded before the process exited");
    } finally {
      memory.close();
    }
  });
});
