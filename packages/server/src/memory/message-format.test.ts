import assert from "node:assert/strict";
import { test } from "node:test";
import type { UIMessage } from "ai";
import { chunkText, storedMessageText, toStoredMessages, toUiMessages } from "./message-format.ts";
import { fromStoredId, toStoredId } from "./stored-ids.ts";

const start = new Date("2026-01-01T00:00:00.000Z");

test("UI messages survive the round trip through Mastra's stored format", () => {
  const messages: UIMessage[] = [
    { id: "u1", role: "user", parts: [{ type: "text", text: "search retries" }] },
    {
      id: "a1",
      role: "assistant",
      metadata: { sessionId: "s1", status: "complete" },
      parts: [
        { type: "step-start" },
        { type: "reasoning", text: "look in the docs", state: "done" },
        {
          type: "tool-search_docs",
          toolCallId: "c1",
          state: "output-available",
          input: { query: "retry" },
          output: { hits: [] },
        },
        { type: "tool-sequentialThinking", toolCallId: "c2", state: "output-error", input: {}, errorText: "bad input" },
        { type: "text", text: "Nothing found." },
      ],
    },
  ];
  const stored = toStoredMessages(messages, { threadId: "s1", resourceId: "alice", start });
  assert.deepEqual(
    stored.map((message) => [message.id, message.threadId, message.resourceId, message.createdAt.toISOString()]),
    [
      ["u1", "s1", "alice", "2026-01-01T00:00:00.000Z"],
      ["a1", "s1", "alice", "2026-01-01T00:00:00.001Z"],
    ],
  );
  const restored = toUiMessages(stored);
  assert.deepEqual(restored[0], messages[0]);
  assert.equal(restored[1]?.id, "a1");
  assert.deepEqual(restored[1]?.metadata, { sessionId: "s1", status: "complete" });
  assert.deepEqual(restored[1]?.parts.slice(2, 4), messages[1]?.parts.slice(2, 4));
  assert.deepEqual(restored[1]?.parts.at(-1), { type: "text", text: "Nothing found." });
});

test("the embedded text is the text parts joined by spaces; tool-only messages have none", () => {
  const [withText, toolsOnly] = toStoredMessages(
    [
      {
        id: "a",
        role: "assistant",
        parts: [{ type: "text", text: "first" }, { type: "step-start" }, { type: "text", text: "second" }],
      },
      { id: "b", role: "assistant", parts: [{ type: "tool-x", toolCallId: "c", state: "input-available", input: {} }] },
    ],
    { threadId: "t", resourceId: "r", start },
  );
  assert.equal(withText && storedMessageText(withText), "first second");
  assert.equal(toolsOnly && storedMessageText(toolsOnly), "");
});

test("long text is chunked at whitespace; short text is one chunk", () => {
  assert.deepEqual(chunkText("short text"), ["short text"]);
  const long = Array.from({ length: 3000 }, (_, index) => `word${index}`).join(" ");
  const chunks = chunkText(long);
  assert.ok(chunks.length > 1);
  assert.ok(chunks.every((chunk) => chunk.length <= 4000));
  assert.equal(chunks.join(" "), long);
});

test("stored ids are scoped by session and give the client's id back", () => {
  const stored = toStoredId("0190-session", "client/id");
  assert.equal(stored, "0190-session/client/id");
  assert.equal(fromStoredId(stored), "client/id");
  assert.notEqual(toStoredId("other-session", "client/id"), stored);
});
