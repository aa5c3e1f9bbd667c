import assert from "node:assert/strict";
import { test } from "node:test";
import type { ChatMessage } from "@session-bridge/shared";
import { v7 as uuidv7 } from "uuid";
import { embeddingLimits } from "../packages/server/src/memory/embedded-text.ts";
import { callApi, postJson, scriptedModel, sendChat, sessionIdOf, startChatServer, userMessage } from "./_chat.ts";
import { querySql } from "./_setup.ts";

/** About 1 MiB of words: the largest text whose `useChat` body still fits the 1 MiB request limit. */
function bigText(): string {
  const words = "the apple pie recipe needs flour butter sugar cinnamon and a hot oven".split(" ");
  let text = "";
  for (let index = 0; text.length < 1_047_000; index++) text += `${words[index % words.length]}${index} `;
  return text.slice(0, 1_047_000);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

test("a 1 MiB message is stored whole, only its start is embedded, and another user's turn is not held up", {
  timeout: 120_000,
}, async (t) => {
  const { url, app } = await startChatServer(t, { model: scriptedModel(["ok"]), environment: { AUTH: "apikey" } });
  const tokenOf = async (name: string) => {
    const { apiKey } = await app.users.create(name);
    return ((await postJson(url, { apiKey }, { path: "/api/auth/token" })).body as unknown as { token: string }).token;
  };
  const alice = await tokenOf("alice");
  const bob = await tokenOf("bob");
  const bobTurn = async (text: string) => {
    const started = performance.now();
    const { chunks } = await sendChat(url, { messages: [userMessage(text)], token: bob });
    assert.equal(chunks.at(-1)?.type, "finish");
    return performance.now() - started;
  };
  // Bob's usual time, warm.
  await bobTurn("warm up the server");
  await app.turns.settled();
  const usual = median([await bobTurn("what is for dinner?"), await bobTurn("and for dessert?"), await bobTurn("ok")]);
  await app.turns.settled();

  const big: ChatMessage = { id: uuidv7(), role: "user", parts: [{ type: "text", text: bigText() }] };
  const response = await fetch(`${url}/api/chat`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${alice}` },
    body: JSON.stringify({ id: "alice-chat", messages: [big] }),
  });
  assert.equal(response.status, 200);
  const aliceDone = response.text();
  // While Alice's turn (recall, answer, then embedding her message) runs, Bob asks again.
  const during = await bobTurn("is the oven hot yet?");
  const aliceStream = await aliceDone;
  assert.match(aliceStream, /"type":"finish"/);
  await app.turns.settled();
  t.diagnostic(`bob's turn: usual ${usual.toFixed(0)} ms, during alice's 1 MiB turn ${during.toFixed(0)} ms`);
  assert.ok(during < usual + 500, `bob waited ${during.toFixed(0)} ms, usually ${usual.toFixed(0)} ms`);

  // Stored whole; embedded only as far as the limits say.
  const sessionId = /"sessionId":"([^"]+)"/.exec(aliceStream)?.[1] ?? "";
  const session = await callApi(url, "GET", `/api/sessions/${sessionId}`, { token: alice });
  const [stored] = session.body.messages as ChatMessage[];
  assert.deepEqual(stored, big);
  const vectors = await querySql(
    app,
    `SELECT count(*) AS count FROM ${app.memory.index.indexName} WHERE json_extract(metadata, '$."message_id"') = ?`,
    [`${sessionId}/${big.id}`],
    { memory: true },
  );
  assert.equal(Number(vectors[0]?.count), embeddingLimits.maxChunks);

  // Recall still finds the big message by its start.
  const next = await sendChat(url, {
    messages: [userMessage("the apple pie recipe with flour and butter")],
    token: alice,
    sessionId: null,
  });
  assert.notEqual(sessionIdOf(next.chunks), sessionId);
  const recall = next.chunks.find((chunk) => chunk.type === "data-recall") as
    | { data: { recalled: { messageId: string; excerpt: string; foundBy: string[] }[] } }
    | undefined;
  const found = recall?.data.recalled.find((item) => item.messageId === big.id);
  assert.ok(found, "the big message is recalled");
  assert.equal(found.excerpt.length, 200, "with an excerpt, not the whole text");
  assert.deepEqual(found.foundBy, ["vector"], "found by meaning (the question holds no keyword)");
  // The trace says the same.
  const trace = await callApi(url, "GET", `/api/sessions/${sessionIdOf(next.chunks)}/trace`, { token: alice });
  const [turn] = (trace.body as { turns: { recalled: { messageId: string; foundBy: string[] }[] }[] }).turns;
  assert.deepEqual(turn?.recalled.find((item) => item.messageId === big.id)?.foundBy, ["vector"]);
});
