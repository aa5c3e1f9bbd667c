import assert from "node:assert/strict";
import { once } from "node:events";
import path from "node:path";
import { describe, test } from "node:test";
import { createClient } from "@libsql/client";
import type { ChatMessage } from "@session-bridge/shared";
import { v7 as uuidv7 } from "uuid";
import { backendEnvironment, testBackends } from "./_backends.ts";
import { userMessage } from "./_chat.ts";
import { kill, startServer, startTurn } from "./_process.ts";
import { dataPlaceOf, makeTempDir, querySql } from "./_setup.ts";

const kills = 20;

/** A deterministic sequence in [0, 1), so a failing run can be replayed. */
function seededRandom(seed: number) {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

for (const backend of testBackends()) {
  describe(`turns that survive SIGKILL, on ${backend}`, { timeout: 600_000 }, () => {
    test(`a server killed mid-stream ${kills} times loses nothing acknowledged and duplicates nothing`, async (t) => {
      const dataDir = await makeTempDir(t);
      const environment = await backendEnvironment(t, backend);
      const place = dataPlaceOf(dataDir, environment);
      const random = seededRandom(7);
      const acknowledged: { sessionId: string; messageId: string }[] = [];
      let sessionId: string | undefined;
      for (let round = 0; round < kills; round++) {
        const { child, url } = await startServer(t, dataDir, environment);
        // Alternate a two-step tool turn and a plain one; every third round starts a new session.
        const text = round % 2 === 0 ? `/think round ${round} needs a thought` : `round ${round}: tell me something`;
        const message = userMessage(text, uuidv7());
        const turn = await startTurn(url, message, round % 3 === 0 ? undefined : sessionId);
        assert.equal(turn.status, 200, `round ${round}: the session was usable again`);
        assert.ok(turn.sessionId);
        sessionId = turn.sessionId;
        acknowledged.push({ sessionId: turn.sessionId, messageId: message.id });
        await new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 500)));
        await kill(child);
        await turn.rest;
      }

      const { child, url } = await startServer(t, dataDir, environment);
      try {
        // Every acknowledged user message is stored exactly once; no turn is left running or half-labelled.
        const sessions = [...new Set(acknowledged.map((entry) => entry.sessionId))];
        const stored = new Map<string, ChatMessage[]>();
        for (const id of sessions) {
          const response = await fetch(`${url}/api/sessions/${id}`);
          assert.equal(response.status, 200);
          stored.set(id, ((await response.json()) as { messages: ChatMessage[] }).messages);
        }
        for (const { sessionId: id, messageId } of acknowledged) {
          const copies = (stored.get(id) ?? []).filter((message) => message.id === messageId);
          assert.equal(copies.length, 1, `user message ${messageId} stored once`);
        }
        for (const messages of stored.values()) {
          for (const message of messages.filter((item) => item.role === "assistant")) {
            const status = (message.metadata as { status?: string } | undefined)?.status;
            assert.ok(["complete", "interrupted", "stopped", "failed"].includes(status ?? ""), `status ${status}`);
          }
        }
        // A turn logged as ended with its answer has that answer stored (saved alongside its end, or from its log).
        const answered = await querySql(
          place,
          "SELECT session_id, assistant_message_id FROM turns WHERE status IN ('complete', 'stopped')",
        );
        for (const row of answered) {
          const messages = stored.get(String(row.session_id)) ?? [];
          assert.ok(
            messages.some((message) => message.id === row.assistant_message_id),
            `answer ${row.assistant_message_id} of an ended turn is stored`,
          );
        }
        const [running] = await querySql(place, "SELECT count(*) AS n FROM turns WHERE status = 'running'");
        assert.equal(Number(running?.n), 0, "every turn is complete or marked interrupted");
        const ended = await querySql(place, "SELECT status, count(*) AS n FROM turns GROUP BY status");
        t.diagnostic(`turns: ${ended.map((row) => `${row.status} ${row.n}`).join(", ")}`);

        // The next turn works, and recall finds what was said before the crashes.
        const next = await startTurn(url, userMessage("what did I ask in round 1?"), sessionId);
        assert.equal(next.status, 200);
        const streamed = await next.rest;
        assert.match(streamed, /"type":"finish"/);
        assert.match(streamed, /"type":"data-recall"/);
      } finally {
        child.kill("SIGTERM");
        await once(child, "exit");
      }

      // The files survived every kill whole (PostgreSQL's own recovery is its business).
      if (backend === "libsql") {
        for (const file of ["session-bridge.db", "memory.db"]) {
          const client = createClient({ url: `file:${path.join(dataDir, file)}` });
          try {
            const check = await client.execute("PRAGMA integrity_check");
            assert.equal(check.rows[0]?.[0], "ok", file);
          } finally {
            client.close();
          }
        }
      }
    });

    test("two server processes on one database never run two turns of one session at once", async (t) => {
      const dataDir = await makeTempDir(t);
      const environment = await backendEnvironment(t, backend);
      const first = await startServer(t, dataDir, environment);
      const second = await startServer(t, dataDir, environment);
      const opening = await startTurn(first.url, userMessage("open"));
      await opening.rest;
      for (let race = 0; race < 5; race++) {
        const turns = await Promise.all(
          [first, second].map((server) =>
            startTurn(server.url, userMessage(`/think race ${race} on both servers`), opening.sessionId),
          ),
        );
        // Usually one wins and the other is 409; on a loaded machine the second may
        // arrive after the first turn ended. Either way, the turns must not overlap.
        for (const turn of turns) assert.ok([200, 409].includes(turn.status), `race ${race}: ${turn.status}`);
        assert.ok(
          turns.some((turn) => turn.status === 200),
          `race ${race}`,
        );
        await Promise.all(turns.map((turn) => turn.rest));
      }
      await kill(first.child);
      await kill(second.child);
      const turns = (
        await querySql(dataPlaceOf(dataDir, environment), "SELECT session_id, started_at, ended_at FROM turns")
      ).map((row) => ({
        sessionId: String(row.session_id),
        // libSQL keeps milliseconds, PostgreSQL a timestamp: either makes a Date.
        start: new Date(row.started_at as number).getTime(),
        end: row.ended_at === null ? Number.POSITIVE_INFINITY : new Date(row.ended_at as number).getTime(),
      }));
      const overlapping = turns.filter((a, index) =>
        turns.some((b, other) => other > index && a.sessionId === b.sessionId && a.start < b.end && b.start < a.end),
      );
      assert.deepEqual(overlapping, [], "two turns of one session overlapped");
      assert.ok(turns.length >= 6, "the opening turn and one per race");
    });
  });
}
