import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ChatMessage } from "@session-bridge/shared";
import { v7 as uuidv7 } from "uuid";
import { backendEnvironment, testBackends } from "./_backends.ts";
import { callApi, userMessage } from "./_chat.ts";
import { kill, type ServerProcess, startServer, startTurn, terminate } from "./_process.ts";
import { type DataPlace, dataPlaceOf, makeTempDir, querySql } from "./_setup.ts";

/** The vector tables of Mastra Memory's database (a table per embedder), on either backend. */
async function vectorTables(place: DataPlace): Promise<string[]> {
  const rows = await querySql(
    place,
    "SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'memory_messages%'",
    [],
    { memory: true },
  ).catch(() =>
    // SQLite has no information_schema: its own catalogue, vector tables only (not their index shadows).
    querySql(
      place,
      "SELECT m.name AS table_name FROM sqlite_master m WHERE m.type = 'table' AND m.name LIKE 'memory_messages%' AND EXISTS (SELECT 1 FROM pragma_table_info(m.name) WHERE name = 'metadata')",
      [],
      { memory: true },
    ),
  );
  return rows.map((row) => String(row.table_name));
}

/** Counts what a session left in both databases, through SQL either backend runs. */
async function leftovers(place: DataPlace, sessionId: string) {
  const count = async (sql: string, memory = false) =>
    Number((await querySql(place, sql, [sessionId], { memory }))[0]?.n ?? 0);
  let vectors = 0;
  for (const table of await vectorTables(place)) {
    // Mastra's metadata keys: the session is the thread.
    vectors += Number(
      (await querySql(place, `SELECT metadata FROM ${table}`, [], { memory: true })).filter((row) =>
        String(typeof row.metadata === "string" ? row.metadata : JSON.stringify(row.metadata)).includes(sessionId),
      ).length,
    );
  }
  return {
    sessions: await count("SELECT count(*) AS n FROM sessions WHERE id = ?"),
    turns: await count("SELECT count(*) AS n FROM turns WHERE session_id = ?"),
    traces: await count("SELECT count(*) AS n FROM turn_traces WHERE session_id = ?"),
    toolSessions: await count("SELECT count(*) AS n FROM tool_sessions WHERE session_id = ?"),
    messages: await count("SELECT count(*) AS n FROM mastra_messages WHERE thread_id = ?", true),
    threads: await count("SELECT count(*) AS n FROM mastra_threads WHERE id = ?", true),
    pending: await count("SELECT count(*) AS n FROM session_bridge_pending_vectors WHERE thread_id = ?", true),
    vectors,
  };
}

const none = { sessions: 0, turns: 0, traces: 0, toolSessions: 0, messages: 0, threads: 0, pending: 0, vectors: 0 };
const longQuestion = `/think ${Array.from({ length: 45 }, (_, index) => `step${index}`).join(" ")}`;
/** The demo model echoes up to 300 characters: about a second of streaming. */
const longAnswer = () => userMessage(Array.from({ length: 45 }, (_, index) => `w${index}x`).join(" "), uuidv7());
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Posts a turn and resolves the moment `finish` arrives (not when the stream ends): what a fast client reacts to. */
async function turnUntilFinish(url: string, message: ChatMessage, sessionId?: string) {
  const response = await fetch(`${url}/api/chat`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ messages: [message], ...(sessionId ? { sessionId } : {}) }),
  });
  if (response.status !== 200) return { status: response.status, text: await response.text() };
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!text.includes('"type":"finish"')) {
    const { done, value } = await reader.read();
    if (done) break;
    text += decoder.decode(value);
  }
  void reader.cancel().catch(() => undefined);
  return { status: 200, text };
}

for (const backend of testBackends()) {
  describe(`several server processes on one ${backend} database`, { timeout: 180_000 }, () => {
    /** `count` server processes on one fresh database (`empty`: not even migrated), started at the same moment. */
    async function startServers(
      t: import("node:test").TestContext,
      count: number,
      extra: Record<string, string> = {},
      options: { empty?: boolean } = {},
    ) {
      const dataDir = await makeTempDir(t);
      const environment = { ...(await backendEnvironment(t, backend, options)), ...extra };
      const servers = await Promise.all(Array.from({ length: count }, () => startServer(t, dataDir, environment)));
      return { servers, place: dataPlaceOf(dataDir, environment) };
    }

    test("processes started at the same moment on a fresh database all come up", async (t) => {
      const { servers } = await startServers(t, 3, {}, { empty: true });
      for (const server of servers) assert.equal((await fetch(`${server.url}/readyz`)).status, 200);
      const errors = servers.flatMap((server) => server.logs.filter((line) => Number(line.level) >= 50));
      assert.deepEqual(errors, [], "nothing logged at error level");
    });

    test("a client sending its next message the moment finish arrives is never busy, whichever process serves it", async (t) => {
      const { servers } = await startServers(t, 2);
      const opening = await turnUntilFinish(servers[0]?.url ?? "", userMessage("first"));
      assert.equal(opening.status, 200);
      const sessionId = /"sessionId":"([^"]+)"/.exec(opening.text)?.[1] as string;
      for (let turn = 1; turn <= 16; turn++) {
        const server = servers[turn % servers.length] as ServerProcess;
        const next = await turnUntilFinish(server.url, userMessage(`turn ${turn}`), sessionId);
        assert.equal(next.status, 200, `turn ${turn} on process ${turn % servers.length}: ${next.text}`);
      }
    });

    test("turns over three processes: resumed and stopped through another, a killed one's turn recovered by another", async (t) => {
      const { servers, place } = await startServers(t, 3, { RECOVERY_INTERVAL: "1s" });
      const [a, b, c] = servers as [ServerProcess, ServerProcess, ServerProcess];

      // Turns of many sessions, spread over the processes, each readable from every process.
      const sessions: string[] = [];
      await Promise.all(
        Array.from({ length: 6 }, async (_, index) => {
          const turn = await startTurn((servers[index % 3] as ServerProcess).url, userMessage(`session ${index}`));
          await turn.rest;
          sessions.push(turn.sessionId as string);
        }),
      );
      for (const [index, sessionId] of sessions.entries()) {
        const shown = await callApi(
          (servers[(index + 1) % 3] as ServerProcess).url,
          "GET",
          `/api/sessions/${sessionId}`,
        );
        assert.equal((shown.body.messages as unknown[]).length, 2, "seen from another process");
      }

      // Resumed through another process: the same parts the first client got, live.
      const resumed = await startTurn(a.url, longAnswer(), sessions[0]);
      const follow = await fetch(`${b.url}/api/chat/${sessions[0]}/stream`);
      assert.equal(follow.status, 200);
      const [original, again] = await Promise.all([resumed.rest, follow.text()]);
      const types = (text: string) => [...text.matchAll(/"type":"([a-z-]+)"/g)].map((match) => match[1]);
      assert.deepEqual(types(again), types(original));
      assert.match(again, /"type":"finish"/);

      // Stopped through a third process: the running one saves the partial answer as stopped.
      const stopping = await startTurn(a.url, longAnswer(), sessions[1]);
      assert.equal((await callApi(c.url, "POST", `/api/sessions/${sessions[1]}/stop`)).status, 204);
      await stopping.rest;
      const stopped = (await callApi(b.url, "GET", `/api/sessions/${sessions[1]}`)).body.messages as ChatMessage[];
      assert.equal(stopped.at(-1)?.metadata?.status, "stopped");

      // Killed mid-turn: another process marks the turn interrupted within the lease's expiry.
      const question = longAnswer();
      const doomed = await startTurn(a.url, question, sessions[2]);
      assert.equal(doomed.status, 200);
      await kill(a.child);
      const killedAt = performance.now();
      let status: unknown;
      while (performance.now() - killedAt < 30_000) {
        status = (await querySql(place, "SELECT status FROM turns WHERE user_message_id = ?", [question.id]))[0]
          ?.status;
        if (status !== "running") break;
        await pause(200);
      }
      assert.equal(status, "interrupted", "recovered by a live process");
      const kept = (await callApi(b.url, "GET", `/api/sessions/${sessions[2]}`)).body.messages as ChatMessage[];
      assert.equal(kept.filter((message) => message.id === question.id).length, 1, "the acknowledged message once");
      // And the session is usable again at once, from another process.
      const after = await startTurn(c.url, userMessage("still there?"), sessions[2]);
      assert.equal(after.status, 200);
      await after.rest;
    });

    test("a session deleted by one process while another runs its turn leaves nothing behind", async (t) => {
      const { servers, place } = await startServers(t, 2);
      const [running, deleting] = servers as [ServerProcess, ServerProcess];
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
      assert.deepEqual(await leftovers(place, sessionId), none);
    });

    test("SIGTERM right after a turn waits for the answer's embedding: no error, nothing left pending", async (t) => {
      const { servers, place } = await startServers(t, 1);
      const server = servers[0] as ServerProcess;
      const turn = await startTurn(server.url, userMessage("a turn right before a deploy"));
      const streamed = await turn.rest;
      assert.match(streamed, /"type":"finish"/);
      assert.equal(await terminate(server.child), 0);
      const errors = server.logs.filter((line) => Number(line.level) >= 50);
      assert.deepEqual(errors, [], "nothing logged at error level");
      const [pending] = await querySql(place, "SELECT count(*) AS n FROM session_bridge_pending_vectors", [], {
        memory: true,
      });
      assert.equal(Number(pending?.n), 0, "both messages were embedded before the process exited");
    });
  });
}
