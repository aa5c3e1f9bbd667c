import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { UIMessageChunk } from "ai";
import { callApi, scriptedModel, sendChat, sessionIdOf, startChatServer, userMessage } from "./_chat.ts";

interface RecallPart {
  data: { recalled: { messageId: string; sessionId: string; excerpt: string; score: number }[] };
}

const recallOf = (chunks: UIMessageChunk[]) =>
  (chunks.find((chunk) => chunk.type === "data-recall") as RecallPart | undefined)?.data.recalled ?? [];

describe("client message ids shared across sessions", () => {
  test("messages of two sessions with the same client id are both recalled, each with its own session and score", async (t) => {
    const { url, app, dataDir } = await startChatServer(t, { model: scriptedModel(["ok"]) });
    // Clients that number their messages per conversation: the same id in two sessions.
    const first = await sendChat(url, { messages: [userMessage("apple pie recipe", "dup")] });
    await app.turns.settled();
    const second = await sendChat(url, { messages: [userMessage("apple pie recipe please", "dup")] });
    await app.turns.settled();
    const sessions = [sessionIdOf(first.chunks), sessionIdOf(second.chunks)];
    assert.notEqual(sessions[0], sessions[1]);

    const third = await sendChat(url, { messages: [userMessage("apple pie", "q1")] });
    assert.equal(third.chunks.at(-1)?.type, "finish");
    assert.ok(!third.chunks.some((chunk) => chunk.type === "error"), "the turn did not fail");
    const recalled = recallOf(third.chunks).filter((item) => item.messageId === "dup");
    assert.deepEqual(recalled.map((item) => item.sessionId).sort(), [...sessions].sort());
    assert.deepEqual(
      recalled.map((item) => item.excerpt).sort(),
      ["apple pie recipe", "apple pie recipe please"],
      "each session's own text, not one merged into the other",
    );
    for (const item of recalled) assert.ok(item.score > 0.3, `a real similarity score: ${item.score}`);
    await app.turns.settled();

    // The trace says the same.
    const trace = await callApi(url, "GET", `/api/sessions/${sessionIdOf(third.chunks)}/trace`);
    const turns = trace.body.turns as { outcome: string; recalled: { messageId: string; sessionId: string }[] }[];
    assert.equal(turns[0]?.outcome, "complete");
    assert.equal(turns[0]?.recalled.filter((item) => item.messageId === "dup").length, 2);

    // And after a restart, on the same files.
    await app.close();
    const restarted = await startChatServer(t, { model: scriptedModel(["still ok"]), dataDir });
    const fourth = await sendChat(restarted.url, { messages: [userMessage("apple pie again", "q2")] });
    assert.equal(fourth.chunks.at(-1)?.type, "finish");
    assert.equal(recallOf(fourth.chunks).filter((item) => item.messageId === "dup").length, 2);
  });
});
