import assert from "node:assert/strict";
import { once } from "node:events";
import path from "node:path";
import { describe, test } from "node:test";
import { createClient } from "@libsql/client";
import type { ChatMessage } from "@session-bridge/shared";
import { v7 as uuidv7 } from "uuid";
import { userMessage } from "./_chat.ts";
import { kill, startServer, startTurn } from "./_process.ts";
import { makeTempDir } from "./_setup.ts";

const kills = 20;

/** A deterministic sequence in [0, 1), so a failing run can be replayed. */
function seededRandom(seed: number) {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

describe("turns that survive SIGKILL", { timeout: 600_000 }, () => {
  test(`a server killed mid-stream ${kills} times loses nothing acknowledged and duplicates nothing`, async (t) => {
    const dataDir = await makeTempDir(t);
    const random = seededRandom(7);
    const acknowledged: { sessionId: string; messageId: string }[] = [];
    let sessionId: string | undefined;
    for (let round = 0; round < kills; round++) {
      const { child, url } = await startServer(t, dataDir);
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

    const { child, url } = await startServer(t, dataDir);
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
      const app = createClient({ url: `file:${path.join(dataDir, "session-bridge.db")}` });
      try {
        const running = await app.execute("SELECT count(*) AS n FROM turns WHERE status = 'running'");
        assert.equal(Number(running.rows[0]?.n), 0, "every turn is complete or marked interrupted");
        const ended = await app.execute("SELECT status, count(*) AS n FROM turns GROUP BY status");
        t.diagnostic(`turns: ${ended.rows.map((row) => `${row.status} ${row.n}`).join(", ")}`);
      } finally {
        app.close();
      }

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

    for (const file of ["session-bridge.db", "memory.db"]) {
      const client = createClient({ url: `file:${path.join(dataDir, file)}` });
      try {
        const check = await client.execute("PRAGMA integrity_check");
        assert.equal(check.rows[0]?.[0], "ok", file);
      } finally {
        client.close();
      }
    }
  });

  test("two server processes on one database never run two turns of one session at once", async (t) => {
    const dataDir = await makeTempDir(t);
    const first = await startServer(t, dataDir);
    const second = await startServer(t, dataDir);
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
    const database = createClient({ url: `file:${path.join(dataDir, "session-bridge.db")}` });
    try {
      const overlapping = await database.execute(`
        SELECT count(*) AS n FROM turns a JOIN turns b
          ON a.session_id = b.session_id AND a.id < b.id
         AND a.started_at < coalesce(b.ended_at, 1e15) AND b.started_at < coalesce(a.ended_at, 1e15)`);
      assert.equal(Number(overlapping.rows[0]?.n), 0, "two turns of one session overlapped");
      const ran = await database.execute("SELECT count(*) AS n FROM turns");
      assert.ok(Number(ran.rows[0]?.n) >= 6, "the opening turn and one per race");
    } finally {
      database.close();
    }
  });
});
