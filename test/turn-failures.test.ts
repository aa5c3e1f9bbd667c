import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { mockUsage, toolCallChunks } from "../fixtures/model-chunks.ts";
import { callApi, scriptedModel, sendChat, sessionIdOf, startChatServer, textChunks, userMessage } from "./_chat.ts";
import { querySql } from "./_setup.ts";

/** The model calls `sequentialThinking` once, then answers. */
const thinkingCall = toolCallChunks(
  "sequentialThinking",
  { thought: "first", thoughtNumber: 1, totalThoughts: 1, nextThoughtNeeded: false },
  mockUsage(1, 1),
);

describe("turns that fail", () => {
  test("a turn failing after the user message is stored still tells the client its session, then the error, and is traced", async (t) => {
    const { url, app } = await startChatServer(t, { model: scriptedModel(["never"]) });
    app.memory.recall = async () => {
      throw new Error("recall broke: /var/lib/secret.db is locked");
    };
    const question = userMessage("will this fail?");
    const { chunks } = await sendChat(url, { messages: [question] });
    const types = chunks.map((chunk) => chunk.type);
    assert.deepEqual(types, ["start", "data-session", "error"]);
    const error = chunks[2] as { errorText: string };
    assert.doesNotMatch(error.errorText, /secret|locked/);
    await app.turns.settled();

    const sessionId = sessionIdOf(chunks);
    const session = await callApi(url, "GET", `/api/sessions/${sessionId}`);
    assert.deepEqual(
      (session.body.messages as { id: string }[]).map((message) => message.id),
      [question.id],
      "the acknowledged user message is stored",
    );
    const trace = await callApi(url, "GET", `/api/sessions/${sessionId}/trace`);
    const [turn] = trace.body.turns as { outcome: string; transitions: { state: string }[] }[];
    assert.equal(turn?.outcome, "failed");
    assert.equal(turn?.transitions.at(-1)?.state, "failed");
    const rows = await querySql(app, "SELECT status FROM turns");
    assert.deepEqual(
      rows.map((row) => row.status),
      ["failed"],
    );
  });

  test("a tool's unexpected error reaches neither the stream nor the trace; both get a safe message", async (t) => {
    const { url, app } = await startChatServer(t, { model: scriptedModel([thinkingCall, textChunks("done")]) });
    app.toolSessions.getOrCreate = async () => {
      throw new Error("SQLITE_IOERR at /home/alice/data/session-bridge.db");
    };
    const { chunks } = await sendChat(url, { messages: [userMessage("think, please")] });
    await app.turns.settled();
    const toolError = chunks.find((chunk) => chunk.type === "tool-output-error") as { errorText: string } | undefined;
    assert.ok(toolError, "the tool call failed");
    assert.doesNotMatch(toolError.errorText, /SQLITE|alice/);
    const trace = await callApi(url, "GET", `/api/sessions/${sessionIdOf(chunks)}/trace`);
    const [turn] = trace.body.turns as { toolCalls: { toolName: string; error?: string }[] }[];
    assert.equal(turn?.toolCalls[0]?.toolName, "sequentialThinking");
    assert.equal(turn?.toolCalls[0]?.error, toolError.errorText, "the trace says what the stream said");
    assert.ok(
      app.logLines.some((line) => line.msg === "tool failed" && JSON.stringify(line).includes("SQLITE_IOERR")),
      "the cause is logged",
    );
  });
});
