import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createHttpApp } from "@session-bridge/server";
import { v7 as uuidv7 } from "uuid";
import { postJson, scriptedModel, sendChat, sessionIdOf, startChatServer, userMessage } from "./_chat.ts";
import { makeClock, makeTestApp } from "./_setup.ts";

async function startWithUsers(t: import("node:test").TestContext) {
  const server = await startChatServer(t, { model: scriptedModel(["ok"]), environment: { AUTH: "apikey" } });
  const alice = await server.app.users.create("alice");
  const bob = await server.app.users.create("bob");
  const tokenFor = async (apiKey: string) => {
    const response = await postJson(server.url, { apiKey }, { path: "/api/auth/token" });
    assert.equal(response.status, 200);
    return (response.body as unknown as { token: string }).token;
  };
  return { ...server, alice, bob, tokenFor };
}

describe("users and tokens", () => {
  test("an API key is exchanged for an expiring token; a wrong key is 401 invalid_api_key", async (t) => {
    const { url, alice } = await startWithUsers(t);
    const ok = await postJson(url, { apiKey: alice.apiKey }, { path: "/api/auth/token" });
    const body = ok.body as unknown as { token: string; expiresAt: string };
    assert.equal(ok.status, 200);
    assert.match(body.token, /^sbt_/);
    assert.ok(Date.parse(body.expiresAt) > Date.now());
    const wrong = await postJson(url, { apiKey: "sbk_wrong" }, { path: "/api/auth/token" });
    assert.deepEqual([wrong.status, wrong.body.error?.code], [401, "invalid_api_key"]);
  });

  test("every /api request needs a token; the API key itself is never a bearer token", async (t) => {
    const { url, alice, tokenFor } = await startWithUsers(t);
    const none = await postJson(url, { messages: [userMessage("hi")] });
    assert.deepEqual([none.status, none.body.error?.code], [401, "unauthorized"]);
    const withKey = await postJson(url, { messages: [userMessage("hi")] }, { token: alice.apiKey });
    assert.deepEqual([withKey.status, withKey.body.error?.code], [401, "unauthorized"]);
    const token = await tokenFor(alice.apiKey);
    const { chunks } = await sendChat(url, { messages: [userMessage("hi")], token });
    const session = chunks.find((chunk) => chunk.type === "data-session") as { data: { resourceId: string } };
    assert.equal(session.data.resourceId, alice.user.id);
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200, "health stays public");
  });

  test("user B gets for user A's session exactly what it gets for a session that does not exist", async (t) => {
    const { url, app, alice, bob, tokenFor } = await startWithUsers(t);
    const aliceToken = await tokenFor(alice.apiKey);
    const bobToken = await tokenFor(bob.apiKey);
    const { chunks } = await sendChat(url, { messages: [userMessage("alice's secret plan")], token: aliceToken });
    const aliceSession = sessionIdOf(chunks);
    await app.turns.settled();
    const missing = uuidv7();

    const probe = async (sessionId: string) => {
      const chat = await postJson(url, { messages: [userMessage("let me in")], sessionId }, { token: bobToken });
      const trace = await fetch(`${url}/api/sessions/${sessionId}/trace`, {
        headers: { authorization: `Bearer ${bobToken}` },
      });
      const stop = await fetch(`${url}/api/sessions/${sessionId}/stop`, {
        method: "POST",
        headers: { authorization: `Bearer ${bobToken}` },
      });
      return { chat: [chat.status, chat.body], trace: [trace.status, await trace.json()], stop: stop.status };
    };
    assert.deepEqual(await probe(aliceSession), await probe(missing));
    assert.equal((await probe(aliceSession)).chat[0], 404);
    const stored = await app.memory.listMessages(aliceSession, alice.user.id);
    assert.equal(stored.length, 2, "nothing of Bob's reached Alice's session");
  });

  test("revoking a user ends their tokens at once", async (t) => {
    const { url, app, alice, tokenFor } = await startWithUsers(t);
    const token = await tokenFor(alice.apiKey);
    assert.equal(await app.users.revoke(alice.user.id), true);
    const after = await postJson(url, { messages: [userMessage("hi")] }, { token });
    assert.equal(after.status, 401);
    const again = await postJson(url, { apiKey: alice.apiKey }, { path: "/api/auth/token" });
    assert.equal(again.status, 401);
  });

  test("too many failed token requests are 429 rate_limited", async (t) => {
    const { url, alice } = await startWithUsers(t);
    for (let attempt = 0; attempt < 10; attempt++) {
      assert.equal((await postJson(url, { apiKey: `wrong-${attempt}` }, { path: "/api/auth/token" })).status, 401);
    }
    const limited = await postJson(url, { apiKey: alice.apiKey }, { path: "/api/auth/token" });
    assert.deepEqual([limited.status, limited.body.error?.code], [429, "rate_limited"]);
  });

  test("the failed-attempt window runs on the app's clock: a minute later the key is accepted again", async (t) => {
    const clock = makeClock();
    const app = await makeTestApp(t, { clock, environment: { AUTH: "apikey" } });
    const alice = await app.users.create("alice");
    const http = createHttpApp(app);
    const requestToken = (apiKey: string) =>
      http.request("/api/auth/token", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ apiKey }),
      });
    for (let attempt = 0; attempt < 10; attempt++) assert.equal((await requestToken("wrong")).status, 401);
    clock.advance(59_000);
    const limited = await requestToken(alice.apiKey);
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get("retry-after"), "1", "counted from the failures on the app's clock");
    clock.advance(1_000);
    assert.equal((await requestToken(alice.apiKey)).status, 200);
  });

  test("with AUTH=none the token route says auth is disabled", async (t) => {
    const { url } = await startChatServer(t, { model: scriptedModel(["ok"]) });
    const response = await postJson(url, { apiKey: "anything" }, { path: "/api/auth/token" });
    assert.deepEqual([response.status, response.body.error?.code], [400, "auth_disabled"]);
  });
});
