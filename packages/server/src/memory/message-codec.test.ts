import assert from "node:assert/strict";
import { test } from "node:test";
import type { ChatMessage } from "@session-bridge/shared";
import { decodeMessage, encodeContent } from "./message-codec.ts";
import { fromStoredId, toStoredId } from "./stored-ids.ts";

const roundTrip = (message: ChatMessage) =>
  decodeMessage({ id: message.id, role: message.role, content: encodeContent(message) }).message;

test("every part of a message comes back exactly as it was saved", () => {
  const answer: ChatMessage = {
    id: "a1",
    role: "assistant",
    metadata: {
      sessionId: "s1",
      model: "local:demo",
      status: "complete",
      usage: { inputTokens: 1, outputTokens: 2, totalTokens: 3 },
    },
    parts: [
      { type: "data-session", id: "session", data: { sessionId: "s1", resourceId: "local" } },
      { type: "data-recall", id: "recall", data: { recalled: [], memories: [{ id: "m", scope: "user", text: "t" }] } },
      { type: "step-start" },
      { type: "reasoning", text: "look in the docs ", state: "done" },
      { type: "text", text: "  two spaces first", state: "done" },
      { type: "source-url", sourceId: "s1", url: "https://example.com", title: "Example" },
      { type: "source-document", sourceId: "s2", mediaType: "text/plain", title: "notes", filename: "notes.txt" },
      { type: "file", mediaType: "image/png", url: "data:image/png;base64,AAAA", filename: "a.png" },
      { type: "dynamic-tool", toolName: "lookup", toolCallId: "d1", state: "output-available", input: {}, output: 1 },
      { type: "tool-search_docs", toolCallId: "t1", state: "output-error", input: { query: "x" }, errorText: "no" },
    ],
  };
  assert.deepEqual(roundTrip(answer), answer);
});

test("user text is kept byte for byte: whitespace, line breaks, NUL, lone surrogates, any script", () => {
  for (const text of [
    "  ",
    "\r\n\r\nhello",
    "a\u0000b",
    "\ud800 lone",
    "emoji 👩🏽‍💻 مرحبا 日本語",
    "\uFEFF\u200B",
    "",
  ]) {
    const message: ChatMessage = { id: "u1", role: "user", parts: [{ type: "text", text }] };
    assert.deepEqual(roundTrip(message), message, JSON.stringify(text));
  }
});

test("a running answer is marked outside its metadata and comes back marked", () => {
  const answer: ChatMessage = { id: "a1", role: "assistant", parts: [{ type: "text", text: "so far" }] };
  const content = encodeContent(answer, true);
  assert.deepEqual(decodeMessage({ id: "a1", role: "assistant", content }), { message: answer, running: true });
  assert.equal(decodeMessage({ id: "a1", role: "assistant", content: encodeContent(answer) }).running, false);
});

test("rows saved through Mastra's conversion before are still read", () => {
  const legacy = JSON.stringify({
    format: 2,
    parts: [
      { type: "step-start" },
      {
        type: "tool-invocation",
        toolInvocation: {
          toolCallId: "c1",
          toolName: "search_docs",
          args: { query: "retry" },
          state: "result",
          result: 7,
        },
      },
      { type: "text", text: "Nothing found." },
    ],
    metadata: { status: "complete" },
  });
  const { message } = decodeMessage({ id: "a1", role: "assistant", content: legacy });
  assert.equal(message.id, "a1");
  assert.deepEqual(message.metadata, { status: "complete" });
  assert.deepEqual(message.parts.at(-1), { type: "text", text: "Nothing found." });
  assert.deepEqual(message.parts[1], {
    type: "tool-search_docs",
    toolCallId: "c1",
    state: "output-available",
    input: { query: "retry" },
    output: 7,
  });
});

test("stored ids are scoped by session and give the client's id back", () => {
  const stored = toStoredId("0190-session", "client/id");
  assert.equal(stored, "0190-session/client/id");
  assert.equal(fromStoredId(stored), "client/id");
  assert.notEqual(toStoredId("other-session", "client/id"), stored);
});
