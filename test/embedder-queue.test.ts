import assert from "node:assert/strict";
import { test } from "node:test";
import type { Embedder } from "@session-bridge/server";
import { v7 as uuidv7 } from "uuid";
import { callApi, postJson, scriptedModel, sendChat, startChatServer, userMessage } from "./_chat.ts";
import { sharedEmbedder } from "./_setup.ts";

/** The real embedder behind a gate: calls wait until `open()` (so the queue in front of it fills). */
async function gatedEmbedder(): Promise<{ embedder: Embedder; open(): void; calls: () => number; texts: string[] }> {
  const real = await sharedEmbedder();
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  let calls = 0;
  const asked: string[] = [];
  return {
    embedder: {
      ...real,
      async embed(texts) {
        calls += 1;
        asked.push(...texts);
        await gate;
        return real.embed(texts);
      },
    },
    open,
    calls: () => calls,
    texts: asked,
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

test("a turn's recall query is embedded while its session is resolved, and only once", async (t) => {
  const gated = await gatedEmbedder();
  const { url, app } = await startChatServer(t, { model: scriptedModel(["Thursday."]), embedder: gated.embedder });
  // The new session's creation (which takes its lease) waits until the test lets it go on.
  let letCreate!: () => void;
  const creating = new Promise<void>((resolve) => {
    letCreate = resolve;
  });
  const create = app.sessions.create.bind(app.sessions);
  let created = false;
  app.sessions.create = async (...args) => {
    await creating;
    const session = await create(...args);
    created = true;
    return session;
  };
  const failSafe = setTimeout(() => {
    letCreate();
    gated.open();
  }, 10_000);
  t.after(() => clearTimeout(failSafe));

  const question = "When is the launch of the new billing page?";
  const turn = sendChat(url, { messages: [userMessage(question)] });
  const deadline = Date.now() + 5_000;
  while (!gated.texts.includes(question) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.ok(gated.texts.includes(question), "the query never reached the embedder while the session was created");
  assert.equal(created, false, "the query was embedded only after the session was resolved");
  letCreate();
  gated.open();
  const { chunks } = await turn;
  assert.equal(chunks.at(-1)?.type, "finish");
  // Recall waited for that embedding, and the user message's vectors reuse it too.
  await app.turns.settled();
  assert.equal(gated.texts.filter((text) => text === question).length, 1);
});

test("a turn for a session that is not the caller's (404) or is busy (409) embeds nothing", async (t) => {
  const gated = await gatedEmbedder();
  gated.open();
  const { url, app } = await startChatServer(t, {
    model: scriptedModel(["first", "second"]),
    embedder: gated.embedder,
  });
  const unknown = await postJson(url, { sessionId: uuidv7(), messages: [userMessage("Is anybody there?")] });
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body?.error?.code, "session_not_found");
  // Busy: another process holds the session's lease (a lease taken on the store, as another server's turn does).
  const session = await app.sessions.create("local");
  assert.ok(await app.sessions.acquireTurnLease("local", session.id, uuidv7(), 60_000));
  const busy = await postJson(url, { sessionId: session.id, messages: [userMessage("Are you still busy?")] });
  assert.equal(busy.status, 409);
  assert.deepEqual(gated.texts, []);
});
