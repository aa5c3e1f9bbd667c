import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { v7 as uuidv7 } from "uuid";
import { scriptedModel, sendChat, sessionIdOf, startChatServer, userMessage } from "./_chat.ts";

const json = async (response: Response) => ({
  status: response.status,
  body: (await response.json()) as Record<string, unknown>,
});

describe("sessions API", () => {
  test("lists sessions most recently used first with message counts and cursor paging", async (t) => {
    const { url, app } = await startChatServer(t, { model: scriptedModel(["ok"]) });
    const ids: string[] = [];
    for (const text of ["first chat", "second chat", "third chat"]) {
      ids.push(sessionIdOf((await sendChat(url, { messages: [userMessage(text)] })).chunks));
      await app.turns.settled();
    }
    const page1 = await json(await fetch(`${url}/api/sessions?limit=2`));
    const sessions = page1.body.sessions as { id: string; title: string; messageCount: number; createdAt: string }[];
    assert.equal(page1.status, 200);
    assert.deepEqual(
      sessions.map((session) => session.id),
      [ids[2], ids[1]],
    );
    assert.equal(sessions[0]?.title, "third chat");
    assert.equal(sessions[0]?.messageCount, 2);
    assert.ok(!Number.isNaN(Date.parse(sessions[0]?.createdAt ?? "")));
    const page2 = await json(await fetch(`${url}/api/sessions?limit=2&cursor=${page1.body.nextCursor}`));
    assert.deepEqual(
      (page2.body.sessions as { id: string }[]).map((session) => session.id),
      [ids[0]],
    );
    assert.equal(page2.body.nextCursor, null);
    const bad = await json(await fetch(`${url}/api/sessions?limit=0`));
    assert.equal(bad.status, 400);
  });

  test("get restores the conversation as UI messages; patch renames; delete removes it", async (t) => {
    const { url, app } = await startChatServer(t, { model: scriptedModel(["Stored answer."]) });
    const question = userMessage("remember me");
    const { chunks, message } = await sendChat(url, { messages: [question] });
    const sessionId = sessionIdOf(chunks);
    await app.turns.settled();

    const got = await json(await fetch(`${url}/api/sessions/${sessionId}`));
    assert.equal(got.status, 200);
    const messages = got.body.messages as { id: string; role: string }[];
    assert.deepEqual(
      messages.map((item) => [item.id, item.role]),
      [
        [question.id, "user"],
        [message?.id, "assistant"],
      ],
    );

    const renamed = await json(
      await fetch(`${url}/api/sessions/${sessionId}`, {
        method: "PATCH",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ title: "Renamed" }),
      }),
    );
    assert.equal((renamed.body.session as { title: string }).title, "Renamed");

    const deleted = await fetch(`${url}/api/sessions/${sessionId}`, { method: "DELETE" });
    assert.equal(deleted.status, 204);
    assert.equal((await fetch(`${url}/api/sessions/${sessionId}`)).status, 404);
    assert.equal((await fetch(`${url}/api/sessions/${sessionId}`, { method: "DELETE" })).status, 404);
    assert.deepEqual(await app.memory.listMessages(sessionId, "local"), []);
  });

  test("malformed ids are 400 and unknown ones 404 on every session route", async (t) => {
    const { url, app } = await startChatServer(t, { model: scriptedModel(["ok"]) });
    for (const path of ["stop", "trace"]) {
      const method = path === "stop" ? "POST" : "GET";
      assert.equal((await fetch(`${url}/api/sessions/not-a-uuid/${path}`, { method })).status, 400);
      assert.equal((await fetch(`${url}/api/sessions/${uuidv7()}/${path}`, { method })).status, 404);
    }
    const idle = sessionIdOf((await sendChat(url, { messages: [userMessage("idle")] })).chunks);
    await app.turns.settled();
    assert.equal((await fetch(`${url}/api/sessions/${idle}/stop`, { method: "POST" })).status, 204, "nothing running");
    for (const method of ["GET", "PATCH", "DELETE"]) {
      const init = {
        method,
        headers: { "content-type": "application/json" },
        body: method === "PATCH" ? '{"title":"x"}' : undefined,
      };
      const malformed = await json(await fetch(`${url}/api/sessions/not-a-uuid`, init));
      assert.deepEqual(
        [malformed.status, (malformed.body.error as { code: string }).code],
        [400, "invalid_session_id"],
      );
      const unknown = await json(await fetch(`${url}/api/sessions/${uuidv7()}`, init));
      assert.deepEqual([unknown.status, (unknown.body.error as { code: string }).code], [404, "session_not_found"]);
    }
  });
});
