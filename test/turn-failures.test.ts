import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type ChatMessage, statusOf } from "@session-bridge/shared";
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

  test("an answer whose save fails as the turn ends: an error before finish, the turn recorded failed, a retry runs it again", async (t) => {
    const model = scriptedModel(["lost answer", "second answer"]);
    const { url, app } = await startChatServer(t, { model });
    const save = app.memory.save.bind(app.memory);
    let failures = 0;
    app.memory.save = async (request) => {
      if (request.messages[0]?.role === "assistant" && failures++ === 0) {
        throw new Error("disk full: /var/lib/secret.db");
      }
      return save(request);
    };
    const question = userMessage("will this be saved?");
    const { chunks } = await sendChat(url, { messages: [question] });
    const types = chunks.map((chunk) => chunk.type);
    assert.deepEqual(types.slice(-2), ["error", "finish"], "the error comes before finish");
    const error = chunks.at(-2) as { errorText: string };
    assert.doesNotMatch(error.errorText, /secret|disk/);
    assert.match(error.errorText, /could not be saved/);
    await app.turns.settled();
    const sessionId = sessionIdOf(chunks);
    assert.deepEqual(
      (await querySql(app, "SELECT status FROM turns")).map((row) => row.status),
      ["failed"],
    );
    const trace = await callApi(url, "GET", `/api/sessions/${sessionId}/trace`);
    const [turn] = trace.body.turns as { outcome: string; transitions: { state: string }[] }[];
    assert.equal(turn?.outcome, "failed");
    assert.deepEqual(
      turn?.transitions.slice(-2).map((transition) => transition.state),
      ["saving", "failed"],
    );
    // The retry answers afresh (the model is called again), stored once.
    const retry = await sendChat(url, { messages: [question], sessionId });
    assert.equal(retry.chunks.at(-1)?.type, "finish");
    assert.equal(model.doStreamCalls.length, 2);
    const session = await callApi(url, "GET", `/api/sessions/${sessionId}`);
    assert.deepEqual(
      (session.body.messages as ChatMessage[]).map((message) => message.role),
      ["user", "assistant"],
    );
  });

  test("an answer whose save fails after a step was saved keeps what it showed, labelled failed; a retry replaces it", async (t) => {
    const model = scriptedModel([thinkingCall, textChunks("lost answer"), textChunks("second answer")]);
    const { url, app } = await startChatServer(t, { model });
    const save = app.memory.save.bind(app.memory);
    let failures = 0;
    app.memory.save = async (request) => {
      // The final save (the only one of a complete answer) fails once.
      const final = request.messages[0]?.role === "assistant" && !request.running;
      if (final && statusOf(request.messages[0]) === "complete" && failures++ === 0) throw new Error("disk full");
      return save(request);
    };
    const question = userMessage("think, then answer");
    const { chunks } = await sendChat(url, { messages: [question] });
    assert.equal(chunks.at(-2)?.type, "error");
    await app.turns.settled();
    const sessionId = sessionIdOf(chunks);
    const shown = (await callApi(url, "GET", `/api/sessions/${sessionId}`)).body.messages as ChatMessage[];
    assert.deepEqual(
      shown.map((message) => [message.role, statusOf(message)]),
      [
        ["user", undefined],
        ["assistant", "failed"],
      ],
    );
    assert.ok(
      shown[1]?.parts.some((part) => part.type === "tool-sequentialThinking"),
      "the saved step is shown",
    );
    const retry = await sendChat(url, { messages: [question], sessionId });
    assert.equal(retry.chunks.at(-1)?.type, "finish");
    await app.turns.settled();
    const after = (await callApi(url, "GET", `/api/sessions/${sessionId}`)).body.messages as ChatMessage[];
    assert.deepEqual(
      after.map((message) => [message.role, statusOf(message)]),
      [
        ["user", undefined],
        ["assistant", "complete"],
      ],
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
