import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { v7 as uuidv7 } from "uuid";
import { callApi, scriptedModel, sendChat, sessionIdOf, startChatServer, userMessage } from "./_chat.ts";

describe("memories API", () => {
  test("user and session memories are added, listed, filtered and deleted", async (t) => {
    const { url, app } = await startChatServer(t, { model: scriptedModel(["ok"]) });
    const { chunks } = await sendChat(url, { messages: [userMessage("hello")] });
    const sessionId = sessionIdOf(chunks);
    await app.turns.settled();

    const user = await callApi(url, "POST", "/api/memories", { body: { scope: "user", text: "  Call me Chris  " } });
    assert.equal(user.status, 201);
    const userMemory = user.body.memory as { id: string; scope: string; sessionId: null; text: string };
    assert.deepEqual([userMemory.scope, userMemory.sessionId, userMemory.text], ["user", null, "Call me Chris"]);
    const session = await callApi(url, "POST", "/api/memories", {
      body: { scope: "session", sessionId: sessionId.toUpperCase(), text: "No commits during this task" },
    });
    assert.equal(session.status, 201);
    const sessionMemory = session.body.memory as { id: string; sessionId: string; createdAt: string };
    assert.equal(sessionMemory.sessionId, sessionId, "the session id is normalised");
    assert.ok(!Number.isNaN(Date.parse(sessionMemory.createdAt)));

    const ids = async (query: string) =>
      ((await callApi(url, "GET", `/api/memories${query}`)).body.memories as { id: string }[]).map(({ id }) => id);
    assert.deepEqual(await ids(""), [userMemory.id, sessionMemory.id]);
    assert.deepEqual(await ids("?scope=user"), [userMemory.id]);
    assert.deepEqual(await ids(`?sessionId=${sessionId}`), [sessionMemory.id]);

    assert.equal((await callApi(url, "DELETE", `/api/memories/${userMemory.id}`)).status, 204);
    const again = await callApi(url, "DELETE", `/api/memories/${userMemory.id}`);
    assert.deepEqual([again.status, again.body.error?.code], [404, "memory_not_found"]);
    assert.deepEqual(await ids(""), [sessionMemory.id]);

    await callApi(url, "DELETE", `/api/sessions/${sessionId}`);
    assert.deepEqual(await ids(""), [], "session memories go with their session");
  });

  test("bad memory input is a 4xx naming the problem and writes nothing", async (t) => {
    const { url } = await startChatServer(t, { model: scriptedModel(["ok"]) });
    const cases: [unknown, number, string][] = [
      ["{not json", 400, "invalid_json"],
      [{ scope: "team", text: "x" }, 400, "invalid_request"],
      [{ scope: "user", text: "   " }, 400, "invalid_request"],
      [{ scope: "user", text: "x".repeat(4001) }, 400, "invalid_request"],
      [{ scope: "session", text: "needs a session" }, 400, "invalid_request"],
      [{ scope: "user", sessionId: uuidv7(), text: "user memories have no session" }, 400, "invalid_request"],
      [{ scope: "session", sessionId: "not-a-uuid", text: "x" }, 400, "invalid_session_id"],
      [{ scope: "session", sessionId: uuidv7(), text: "x" }, 404, "session_not_found"],
    ];
    for (const [body, status, code] of cases) {
      const response = await callApi(url, "POST", "/api/memories", { body });
      assert.deepEqual([response.status, response.body.error?.code], [status, code], JSON.stringify(body));
    }
    const invalidScope = await callApi(url, "POST", "/api/memories", { body: { scope: "team", text: "x" } });
    assert.match(invalidScope.body.error?.message ?? "", /^scope:/);
    assert.deepEqual((await callApi(url, "GET", "/api/memories")).body.memories, []);
    const malformed = await callApi(url, "DELETE", "/api/memories/123");
    assert.deepEqual([malformed.status, malformed.body.error?.code], [400, "invalid_request"]);
    const badQuery = await callApi(url, "GET", "/api/memories?scope=everyone");
    assert.deepEqual([badQuery.status, badQuery.body.error?.code], [400, "invalid_request"]);
  });

  test("memories reach the model on the next turn and show in the stream's data-recall part", async (t) => {
    const model = scriptedModel(["first", "second"]);
    const { url, app } = await startChatServer(t, { model });
    const { chunks } = await sendChat(url, { messages: [userMessage("hello")] });
    const sessionId = sessionIdOf(chunks);
    await app.turns.settled();
    await callApi(url, "POST", "/api/memories", { body: { scope: "user", text: "Always answer in French" } });

    const next = await sendChat(url, { messages: [userMessage("what now?")], sessionId });
    assert.match(JSON.stringify(model.doStreamCalls[1]?.prompt), /Always answer in French/);
    const types = next.chunks.map((chunk) => chunk.type);
    assert.equal(types.indexOf("data-recall"), types.indexOf("data-session") + 1, "right after data-session");
    const recall = next.chunks.find((chunk) => chunk.type === "data-recall") as {
      data: { memories: { text: string }[]; recalled: { messageId: string }[] };
    };
    assert.deepEqual(
      recall.data.memories.map((memory) => memory.text),
      ["Always answer in French"],
    );
    assert.ok(
      next.message?.parts.some((part) => part.type === "data-recall"),
      "the client's message holds it",
    );
  });
});

describe("usage API", () => {
  test("counts the caller's turns and tokens per day and model", async (t) => {
    const { url, app } = await startChatServer(t, { model: scriptedModel(["one", "two"]) });
    assert.deepEqual((await callApi(url, "GET", "/api/usage")).body, { usage: [] });
    const day = new Date().toISOString().slice(0, 10);
    const { chunks } = await sendChat(url, { messages: [userMessage("hello")] });
    await sendChat(url, { messages: [userMessage("again")], sessionId: sessionIdOf(chunks) });
    await app.turns.settled();
    const { body } = await callApi(url, "GET", "/api/usage");
    // The scripted model reports 11 input and 4 output tokens per call.
    assert.deepEqual(body.usage, [{ day, model: "local:demo", turns: 2, inputTokens: 22, outputTokens: 8 }]);

    await callApi(url, "DELETE", `/api/sessions/${sessionIdOf(chunks)}`);
    assert.equal(
      ((await callApi(url, "GET", "/api/usage")).body.usage as unknown[]).length,
      1,
      "usage outlives sessions",
    );
  });
});
