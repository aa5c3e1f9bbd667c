import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createHttpApp } from "@session-bridge/server";
import { servedRoutes } from "../packages/server/src/http/served-routes.ts";
import { testBackends } from "./_backends.ts";
import { callApi, postJson, scriptedModel, sendChat, sessionIdOf, startChatServer, userMessage } from "./_chat.ts";

type Probe = (ids: { sessionId: string; memoryId: string }) => Promise<unknown>;

for (const backend of testBackends()) {
  describe(`on ${backend}`, () => {
    test("on every route, user B with user A's ids gets exactly what it gets for ids that do not exist", async (t) => {
      const { url, app } = await startChatServer(t, {
        backend,
        model: scriptedModel(["ok", Array.from({ length: 40 }, (_, index) => `w${index}`).join(" ")], 10),
        environment: { AUTH: "apikey" },
      });
      const alice = await app.users.create("alice");
      const bob = await app.users.create("bob");
      const tokenOf = async (apiKey: string) =>
        ((await postJson(url, { apiKey }, { path: "/api/auth/token" })).body as unknown as { token: string }).token;
      const aliceToken = await tokenOf(alice.apiKey);
      const bobToken = await tokenOf(bob.apiKey);

      const { chunks } = await sendChat(url, { messages: [userMessage("alice's secret plan")], token: aliceToken });
      const aliceSession = sessionIdOf(chunks);
      await app.turns.settled();
      const memory = await callApi(url, "POST", "/api/memories", {
        token: aliceToken,
        body: { scope: "session", sessionId: aliceSession, text: "alice's standing order" },
      });
      const aliceMemory = (memory.body.memory as { id: string }).id;
      const aliceIds = { sessionId: aliceSession, memoryId: aliceMemory };
      const missingIds = {
        sessionId: "01937c4e-0000-7000-8000-000000000000",
        memoryId: "01937c4e-0000-7000-8000-000000000001",
      };

      const asBob = (method: string, path: string, body?: unknown) =>
        callApi(url, method, path, { token: bobToken, ...(body === undefined ? {} : { body }) });
      const raw = async (method: string, path: string) => {
        const response = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${bobToken}` } });
        return [response.status, await response.text()];
      };
      const probes: Record<string, Probe> = {
        "POST /api/chat": ({ sessionId }) =>
          asBob("POST", "/api/chat", { messages: [userMessage("let me in")], sessionId }),
        "GET /api/chat/:id/stream": ({ sessionId }) => raw("GET", `/api/chat/${sessionId}/stream`),
        "GET /api/sessions": () => asBob("GET", "/api/sessions"),
        "GET /api/sessions/:id": ({ sessionId }) => asBob("GET", `/api/sessions/${sessionId}`),
        "PATCH /api/sessions/:id": ({ sessionId }) => asBob("PATCH", `/api/sessions/${sessionId}`, { title: "stolen" }),
        "DELETE /api/sessions/:id": ({ sessionId }) => raw("DELETE", `/api/sessions/${sessionId}`),
        "POST /api/sessions/:id/stop": ({ sessionId }) => raw("POST", `/api/sessions/${sessionId}/stop`),
        "GET /api/sessions/:id/trace": ({ sessionId }) => asBob("GET", `/api/sessions/${sessionId}/trace`),
        "GET /api/memories": ({ sessionId }) =>
          Promise.all([asBob("GET", "/api/memories"), asBob("GET", `/api/memories?sessionId=${sessionId}`)]),
        "POST /api/memories": ({ sessionId }) =>
          asBob("POST", "/api/memories", { scope: "session", sessionId, text: "planted" }),
        "DELETE /api/memories/:id": ({ memoryId }) => raw("DELETE", `/api/memories/${memoryId}`),
        "GET /api/usage": () => asBob("GET", "/api/usage"),
      };

      const publicRoutes = [
        "/healthz",
        "/readyz",
        "/api/openapi.json",
        "/api/auth/token",
        "/",
        "/playground/app.js",
        "/playground/app.css",
      ];
      const protectedRoutes = servedRoutes(createHttpApp(app))
        .filter(([path]) => !publicRoutes.includes(path))
        .flatMap(([path, methods]) => methods.map((method) => `${method} ${path}`));
      assert.deepEqual(Object.keys(probes).sort(), protectedRoutes.sort(), "every protected route has a probe");

      // What a missing id gets: proof that Bob's requests were authenticated and looked up.
      const statusOf = (result: unknown): unknown =>
        Array.isArray(result)
          ? typeof result[0] === "number"
            ? result[0]
            : result.map(statusOf)
          : (result as { status: number }).status;
      const expected: Record<string, unknown> = {
        "POST /api/chat": 404,
        "GET /api/chat/:id/stream": 204,
        "GET /api/sessions": 200,
        "GET /api/sessions/:id": 404,
        "PATCH /api/sessions/:id": 404,
        "DELETE /api/sessions/:id": 404,
        "POST /api/sessions/:id/stop": 404,
        "GET /api/sessions/:id/trace": 404,
        "GET /api/memories": [200, 404],
        "POST /api/memories": 404,
        "DELETE /api/memories/:id": 404,
        "GET /api/usage": 200,
      };
      for (const [route, probe] of Object.entries(probes)) {
        const withAlices = await probe(aliceIds);
        const withMissing = await probe(missingIds);
        assert.deepEqual(withAlices, withMissing, route);
        assert.deepEqual(statusOf(withMissing), expected[route], route);
      }

      // While Alice's turn runs, Bob can neither resume nor stop it, by session id or chat id.
      const running = sendChat(url, {
        messages: [userMessage("a long answer please")],
        sessionId: aliceSession,
        chatId: "alice-chat",
        token: aliceToken,
      });
      // Alice herself can resume it (waiting until it runs), so Bob's 204s below are not just "nothing runs".
      let asAlice = 204;
      for (let attempt = 0; attempt < 250 && asAlice !== 200; attempt++) {
        const response = await fetch(`${url}/api/chat/alice-chat/stream`, {
          headers: { authorization: `Bearer ${aliceToken}` },
        });
        asAlice = response.status;
        await response.body?.cancel();
        if (asAlice !== 200) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal(asAlice, 200);
      for (const id of [aliceSession, "alice-chat"]) {
        assert.deepEqual(await raw("GET", `/api/chat/${id}/stream`), [204, ""], id);
      }
      assert.equal((await raw("POST", `/api/sessions/${aliceSession}/stop`))[0], 404);
      const finished = await running;
      assert.equal((finished.message?.metadata as { status?: string } | undefined)?.status, "complete");
      await app.turns.settled();

      // Nothing of Alice's moved, and Bob's lists stay empty.
      assert.equal((await app.sessions.get(alice.user.id, aliceSession))?.title, "alice's secret plan");
      assert.equal((await app.memory.listMessages(aliceSession, alice.user.id)).length, 4);
      const aliceMemories = await callApi(url, "GET", "/api/memories", { token: aliceToken });
      assert.deepEqual(
        (aliceMemories.body.memories as { id: string }[]).map(({ id }) => id),
        [aliceMemory],
      );
      assert.deepEqual((await asBob("GET", "/api/sessions")).body.sessions, []);
      assert.deepEqual((await asBob("GET", "/api/usage")).body.usage, []);
    });
  });
}
