import assert from "node:assert/strict";
import { test } from "node:test";
import type { Embedder } from "@session-bridge/server";
import { v7 as uuidv7 } from "uuid";
import { callApi, postJson, scriptedModel, sendChat, sessionIdOf, startChatServer, userMessage } from "./_chat.ts";
import { eventually, holdCalls, sharedEmbedder } from "./_setup.ts";

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

test("a turn's recall query is embedded while its session is resolved (created, or its lease taken), and only once", async (t) => {
  const gated = await gatedEmbedder();
  const { url, app } = await startChatServer(t, { model: scriptedModel(["Thursday."]), embedder: gated.embedder });
  // The new session's creation (which takes its lease) waits until the test lets it go on.
  const creating = holdCalls(app.sessions, "create");
  const failSafe = setTimeout(() => {
    creating.release();
    gated.open();
  }, 10_000);
  t.after(() => clearTimeout(failSafe));

  const question = "When is the launch of the new billing page?";
  const turn = sendChat(url, { messages: [userMessage(question)] });
  assert.ok(
    await eventually(() => gated.texts.includes(question)),
    "the query never reached the embedder while the session was created",
  );
  assert.equal(creating.returned(), false, "the query was embedded only after the session was resolved");
  // Recall asks for its window (the session's newest messages) while the query is still embedded.
  const recallWindow = app.memoryStorage.messages.recallWindow.bind(app.memoryStorage.messages);
  let windowAsked = false;
  app.memoryStorage.messages.recallWindow = (request) => {
    windowAsked = true;
    return recallWindow(request);
  };
  creating.release();
  assert.ok(await eventually(() => windowAsked), "recall asked for its window only after the query was embedded");
  gated.open();
  const { chunks } = await turn;
  assert.equal(chunks.at(-1)?.type, "finish");
  // Recall waited for that embedding, and the user message's vectors reuse it too.
  await app.turns.settled();
  assert.equal(gated.texts.filter((text) => text === question).length, 1);

  // A session named by id: the query is embedded while its lease is being taken.
  const leasing = holdCalls(app.sessions, "acquireTurnLease");
  t.after(leasing.release);
  const followUp = "And the launch of the invoices page?";
  const next = sendChat(url, { sessionId: sessionIdOf(chunks), messages: [userMessage(followUp)] });
  assert.ok(
    await eventually(() => gated.texts.includes(followUp)),
    "the query never reached the embedder while the lease was taken",
  );
  assert.equal(leasing.returned(), false, "the query was embedded only after the lease was taken");
  leasing.release();
  assert.equal((await next).chunks.at(-1)?.type, "finish");
  assert.equal(leasing.returned(), true, "the turn took its lease elsewhere than the held store call");
});

test("a turn for a session that is not the caller's (404) or is busy (409) stores nothing and embeds its text once", async (t) => {
  const gated = await gatedEmbedder();
  gated.open();
  const { url, app } = await startChatServer(t, {
    model: scriptedModel(["first", "second"]),
    embedder: gated.embedder,
  });
  // The query is embedded before the session is looked up (so a turn does not wait for its lease
  // first): a refused request has embedded for nothing, a repeated one finds its text cached.
  const question = "Is anybody there?";
  for (const attempt of [1, 2]) {
    const unknown = await postJson(url, { sessionId: uuidv7(), messages: [userMessage(question)] });
    assert.equal(unknown.status, 404, `attempt ${attempt}`);
    assert.equal(unknown.body?.error?.code, "session_not_found");
  }
  // Busy: another process holds the session's lease (a lease taken on the store, as another server's turn does).
  const session = await app.sessions.create("local");
  assert.ok(await app.sessions.acquireTurnLease("local", session.id, uuidv7(), 60_000));
  for (const attempt of [1, 2]) {
    const busy = await postJson(url, { sessionId: session.id, messages: [userMessage("Are you still busy?")] });
    assert.equal(busy.status, 409, `attempt ${attempt}`);
  }
  await app.turns.settled();
  assert.deepEqual(gated.texts.sort(), ["Are you still busy?", question]);
  // Nothing was stored for either: the one session has no messages, and no other session was made.
  const listed = await callApi(url, "GET", "/api/sessions");
  assert.deepEqual(
    (listed.body.sessions as { id: string; messageCount: number }[]).map(({ id, messageCount }) => ({
      id,
      messageCount,
    })),
    [{ id: session.id, messageCount: 0 }],
  );
});
