import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { LanguageModelV4StreamPart } from "@session-bridge/server";
import type { ChatMessage } from "@session-bridge/shared";
import { mockUsage } from "../fixtures/model-chunks.ts";
import { callApi, scriptedModel, sendChat, sessionIdOf, startChatServer, userMessage } from "./_chat.ts";

const usage = mockUsage(3, 5);

/** One step with every kind of part a model can stream: reasoning, text, sources, a file and a provider's dynamic tool. */
const everyPart: LanguageModelV4StreamPart[] = [
  { type: "stream-start", warnings: [] },
  { type: "reasoning-start", id: "r1" },
  { type: "reasoning-delta", id: "r1", delta: "  thinking\r\n" },
  { type: "reasoning-end", id: "r1" },
  { type: "source", sourceType: "url", id: "src-1", url: "https://example.com/a", title: "Example A" },
  { type: "source", sourceType: "document", id: "src-2", mediaType: "text/plain", title: "Notes", filename: "n.txt" },
  { type: "file", mediaType: "image/png", data: { type: "data", data: "iVBORw0KGgo=" } },
  {
    type: "tool-call",
    toolCallId: "dyn-1",
    toolName: "provider_lookup",
    input: JSON.stringify({ q: "x" }),
    providerExecuted: true,
    dynamic: true,
  },
  { type: "tool-result", toolCallId: "dyn-1", toolName: "provider_lookup", result: { found: 2 }, dynamic: true },
  { type: "text-start", id: "t1" },
  { type: "text-delta", id: "t1", delta: "\r\n\r\n  exact\u0000 answer  " },
  { type: "text-end", id: "t1" },
  { type: "finish", finishReason: { unified: "stop", raw: "stop" }, usage },
];

const messagesOf = async (url: string, sessionId: string) =>
  (await callApi(url, "GET", `/api/sessions/${sessionId}`)).body.messages as ChatMessage[];

describe("messages are stored exactly", () => {
  test("accepted user text comes back byte for byte: spaces, leading line breaks, NUL, lone surrogates, any script", async (t) => {
    const { url, app } = await startChatServer(t, { model: scriptedModel(["ok"]) });
    const texts = [
      "  ",
      "\r\n\r\nleading newlines",
      "nul\u0000inside",
      "\ud83d lone surrogate",
      "👩🏽‍💻 مرحبا 日本語 e\u0301",
      "\t",
    ];
    const sent = texts.map((text) => userMessage(text));
    const first = await sendChat(url, { messages: [sent[0] as ChatMessage] });
    const sessionId = sessionIdOf(first.chunks);
    await app.turns.settled();
    for (const message of sent.slice(1)) {
      await sendChat(url, { messages: [message], sessionId });
      await app.turns.settled();
    }
    const stored = (await messagesOf(url, sessionId)).filter((message) => message.role === "user");
    assert.deepEqual(stored, sent);
  });

  test("a user message with files and several text parts round-trips whole", async (t) => {
    const { url, app } = await startChatServer(t, { model: scriptedModel(["ok"]) });
    const message: ChatMessage = {
      id: "with-file",
      role: "user",
      parts: [
        { type: "text", text: "look at this " },
        { type: "file", mediaType: "text/plain", url: "data:text/plain;base64,aGk=", filename: "hi.txt" },
        { type: "text", text: " and this" },
      ],
    };
    const { chunks } = await sendChat(url, { messages: [message] });
    await app.turns.settled();
    const [stored] = await messagesOf(url, sessionIdOf(chunks));
    assert.deepEqual(stored, message);
  });

  test("the answer is restored as the client built it from the stream: data-recall, reasoning, sources, files, dynamic tools", async (t) => {
    const { url, app } = await startChatServer(t, { model: scriptedModel(["The oven is at 180 degrees.", everyPart]) });
    await sendChat(url, { messages: [userMessage("what temperature for the apple pie oven?")] });
    await app.turns.settled();
    // A new session: the first one is recalled from memory, not part of its recent history.
    const { chunks, message: streamed } = await sendChat(url, {
      messages: [userMessage("which oven temperature for apple pie?")],
    });
    const sessionId = sessionIdOf(chunks);
    await app.turns.settled();
    assert.ok(streamed);
    const types = streamed.parts.map((part) => part.type);
    for (const type of ["data-recall", "reasoning", "source-url", "source-document", "file", "dynamic-tool", "text"]) {
      assert.ok(types.includes(type as never), `the stream carried ${type}`);
    }
    const restored = (await messagesOf(url, sessionId)).at(-1);
    // As JSON: the client's reader leaves `key: undefined` on some parts, which no JSON carries.
    assert.deepEqual(restored, JSON.parse(JSON.stringify(streamed)));
  });
});
