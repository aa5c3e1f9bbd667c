import assert from "node:assert/strict";
import { test } from "node:test";
import type { Embedder } from "@session-bridge/server";
import { callApi, postJson, scriptedModel, sendChat, startChatServer, userMessage } from "./_chat.ts";
import { sharedEmbedder } from "./_setup.ts";

/** The real embedder behind a gate: calls wait until `open()` (so the queue in front of it fills). */
async function gatedEmbedder(): Promise<{ embedder: Embedder; open(): void; calls: () => number }> {
  const real = await sharedEmbedder();
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  let calls = 0;
  return {
    embedder: {
      ...real,
      async embed(texts) {
        calls += 1;
        await gate;
        return real.embed(texts);
      },
    },
    open,
    calls: () => calls,
  };
}

test("a turn is refused with 503 server_busy and Retry-After when the embedder's queue is full, storing nothing", async (t) => {
  const gated = await gatedEmbedder();
  const { url, app } = await startChatServer(t, {
    model: scriptedModel(["first", "second", "third"]),
    embedder: gated.embedder,
    environment: { EMBED_QUEUE_LIMIT: "1" },
  });
  // The first turn's query is in the embedder (held at the gate), the second's waits in the queue.
  const first = sendChat(url, { messages: [userMessage("first question")] });
  while (gated.calls() < 1) await new Promise((resolve) => setTimeout(resolve, 5));
  const second = sendChat(url, { messages: [userMessage("second question")] });
  while (app.memory.embeddingBacklog() < 1) await new Promise((resolve) => setTimeout(resolve, 5));
  const before = await callApi(url, "GET", "/api/sessions");

  // Were the turn admitted, it would wait at the gate: open it in time for the assertions to fail.
  const failSafe = setTimeout(gated.open, 10_000);
  t.after(() => clearTimeout(failSafe));
  const refused = await postJson(url, { messages: [userMessage("third question")] });
  assert.equal(refused.status, 503);
  assert.equal(refused.headers.get("retry-after"), "1");
  assert.equal(refused.body?.error?.code, "server_busy");
  assert.deepEqual(await callApi(url, "GET", "/api/sessions"), before);

  gated.open();
  for (const turn of [await first, await second]) assert.equal(turn.chunks.at(-1)?.type, "finish");
  // Once the queue drains, the same request goes through.
  const retried = await sendChat(url, { messages: [userMessage("third question")] });
  assert.equal(retried.chunks.at(-1)?.type, "finish");
  assert.equal(((await callApi(url, "GET", "/api/sessions")).body.sessions as unknown[]).length, 3);
});
