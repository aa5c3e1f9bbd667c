import assert from "node:assert/strict";
import { test } from "node:test";
import type { ChatMessage } from "@session-bridge/shared";
import type { RecallResult } from "../ports/conversation-memory.ts";
import { buildTurnContext, excerpt, messageText } from "./turn-context.ts";

const text = (id: string, role: "user" | "assistant", body: string): ChatMessage => ({
  id,
  role,
  parts: [{ type: "text", text: body }],
});
const createdAt = new Date(0);

test("puts memories and recalled context in the system prompt and history before the new message", () => {
  const recall: RecallResult = {
    recent: [text("r1", "user", "earlier question"), text("r2", "assistant", "earlier answer")],
    recalled: [
      {
        message: text("x1", "user", "the deploy key rotates monthly"),
        sessionId: "other",
        score: 0.8,
        foundBy: ["vector"],
      },
      { message: text("x2", "assistant", "noted"), sessionId: "this", score: 0.8, foundBy: [] },
    ],
    memories: [
      { id: "m1", resourceId: "u", scope: "user", sessionId: null, text: "Call me Chris", createdAt },
      { id: "m2", resourceId: "u", scope: "session", sessionId: "this", text: "No commits", createdAt },
    ],
  };
  const newMessage = text("n1", "user", "when does the key rotate?");
  const context = buildTurnContext(recall, newMessage, "this");
  assert.deepEqual(
    context.messages.map((message) => message.id),
    ["r1", "r2", "n1"],
  );
  const system = context.system ?? "";
  assert.match(system, /standing instructions \(apply to every conversation\):\n- Call me Chris/);
  assert.match(system, /for this conversation:\n- No commits/);
  assert.match(system, /\[conversation other\] user: the deploy key rotates monthly/);
  assert.match(system, /\[this conversation, earlier\] assistant: noted/);
});

test("has no system prompt when there is nothing to add, and never repeats the new message", () => {
  const newMessage = text("n1", "user", "hi");
  const context = buildTurnContext({ recent: [newMessage], recalled: [], memories: [] }, newMessage);
  assert.equal(context.system, undefined);
  assert.deepEqual(context.messages, [newMessage]);
});

test("messageText joins text parts; excerpt cuts long text", () => {
  const message: ChatMessage = {
    id: "a",
    role: "assistant",
    parts: [{ type: "text", text: "one" }, { type: "step-start" }, { type: "text", text: "two" }],
  };
  assert.equal(messageText(message), "one two");
  assert.equal(excerpt("abcdef", 3), "abc…");
  assert.equal(excerpt("abc", 3), "abc");
});
