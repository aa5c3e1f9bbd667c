import { MessageList } from "@mastra/core/agent";
import type { UIMessage } from "ai";

const ui: UIMessage[] = [
  { id: "u1", role: "user", parts: [{ type: "text", text: "hello there" }], metadata: { sessionId: "s" } },
  {
    id: "a1",
    role: "assistant",
    metadata: { sessionId: "s", status: "complete", usage: { inputTokens: 1 } },
    parts: [
      { type: "step-start" },
      { type: "reasoning", text: "thinking", state: "done" },
      { type: "tool-search_docs", toolCallId: "c1", state: "output-available", input: { q: 1 }, output: { hits: [1] } },
      { type: "tool-sequentialThinking", toolCallId: "c2", state: "output-error", input: { q: 1 }, errorText: "bad" },
      { type: "text", text: "answer", state: "done" },
      { type: "data-recall", id: "r", data: { a: 1 } },
    ] as UIMessage["parts"],
  },
];
const list = new MessageList({ threadId: "t", resourceId: "r" });
list.add(ui, "memory");
const db = list.get.all.db();
console.log(JSON.stringify(db, null, 1).slice(0, 3000));
const back = new MessageList({ threadId: "t", resourceId: "r" }).add(db, "memory").get.all.aiV7.ui();
console.log(JSON.stringify(back, null, 1));
