import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { messageText } from "@session-bridge/core";
import type { ChatMessage } from "@session-bridge/shared";
import { DefaultChatTransport, readUIMessageStream, simulateReadableStream } from "ai";
import { MockLanguageModelV4 } from "ai/test";
import { scriptedModel, sendChat, sessionIdOf, startChatServer, textChunks, userMessage } from "./_chat.ts";
import { querySql } from "./_setup.ts";

describe("retries and regenerate", () => {
  test("retrying an answered user message replays the stored answer without calling the model", async (t) => {
    const model = scriptedModel(["The first and only answer."]);
    const { url, app } = await startChatServer(t, { model });
    const question = userMessage("What is the answer?");
    const first = await sendChat(url, { messages: [question] });
    const sessionId = sessionIdOf(first.chunks);
    await app.turns.settled();

    const retry = await sendChat(url, { messages: [question], sessionId });
    assert.equal(model.doStreamCalls.length, 1, "the model was not called again");
    assert.equal(sessionIdOf(retry.chunks), sessionId);
    assert.equal(retry.message?.id, first.message?.id);
    assert.equal(retry.message && messageText(retry.message), "The first and only answer.");
    assert.deepEqual(retry.message?.metadata, first.message?.metadata);
    const stored = await app.memory.listMessages(sessionId, "local");
    assert.deepEqual(
      stored.map((message) => message.id),
      [question.id, first.message?.id],
    );
  });

  test("retrying a user message whose turn failed runs the turn again and stores it once", async (t) => {
    let calls = 0;
    const model = new MockLanguageModelV4({
      doStream: async () => {
        calls += 1;
        if (calls === 1) throw new Error("provider down");
        return { stream: simulateReadableStream({ chunks: textChunks("Recovered answer.") }) };
      },
    });
    const { url, app } = await startChatServer(t, { model });
    const question = userMessage("Try this");
    const failed = await sendChat(url, { messages: [question] });
    assert.ok(failed.chunks.some((chunk) => chunk.type === "error"));
    const sessionId = sessionIdOf(failed.chunks);
    await app.turns.settled();

    const retry = await sendChat(url, { messages: [question], sessionId });
    assert.equal(retry.message && messageText(retry.message), "Recovered answer.");
    await app.turns.settled();
    const stored = await app.memory.listMessages(sessionId, "local");
    assert.equal(stored.filter((message) => message.id === question.id).length, 1);
    assert.equal(stored.filter((message) => message.role === "assistant").length, 1);
  });

  test("regenerate-message replaces the last assistant message", async (t) => {
    const model = scriptedModel(["First draft.", "Second draft."]);
    const { url, app } = await startChatServer(t, { model });
    const question = userMessage("Write a tagline");
    const first = await sendChat(url, { messages: [question] });
    const sessionId = sessionIdOf(first.chunks);
    await app.turns.settled();

    const transport = new DefaultChatTransport({ api: `${url}/api/chat` });
    const stream = await transport.sendMessages({
      trigger: "regenerate-message",
      chatId: "chat-1",
      messageId: first.message?.id,
      messages: [question],
      abortSignal: undefined,
      body: { sessionId },
    });
    let regenerated: ChatMessage | undefined;
    for await (const message of readUIMessageStream<ChatMessage>({ stream })) regenerated = message;
    assert.equal(regenerated && messageText(regenerated), "Second draft.");
    await app.turns.settled();
    const stored = await app.memory.listMessages(sessionId, "local");
    assert.deepEqual(
      stored.map((message) => messageText(message)),
      ["Write a tagline", "Second draft."],
    );
    const vectors = await querySql(
      app,
      `SELECT count(*) AS count FROM ${app.memory.index.indexName} WHERE json_extract(metadata, '$."message_id"') LIKE ?`,
      [`%${first.message?.id}`],
      { memory: true },
    );
    assert.equal(Number(vectors[0]?.count), 0, "the replaced answer's vectors are gone");
  });
});
