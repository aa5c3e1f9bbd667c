import assert from "node:assert/strict";
import { connect } from "node:net";
import { describe, type TestContext, test } from "node:test";
import { createHttpApp } from "@session-bridge/server";
import { session, sessionList, trace, usage } from "../packages/server/src/http/api-schemas.ts";
import { documentedRoutes, type OpenApiDocument, openApiDocument } from "../packages/server/src/http/openapi.ts";
import { servedRoutes } from "../packages/server/src/http/served-routes.ts";
import { callApi, scriptedModel, sendChat, sessionIdOf, startChatServer, userMessage } from "./_chat.ts";
import { makeTestApp } from "./_setup.ts";

const startServer = (t: TestContext, environment: Record<string, string> = {}) => startChatServer(t, { environment });

describe("HTTP basics", () => {
  test("liveness and readiness answer on a real port", async (t) => {
    const { url } = await startServer(t);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: "ok" });
    const ready = await fetch(`${url}/readyz`);
    assert.equal(ready.status, 200);
    const body = (await ready.json()) as { status: string; migrations: { applied: number; available: number } };
    assert.equal(body.status, "ready");
    assert.equal(body.migrations.applied, body.migrations.available);
    assert.ok(health.headers.get("x-request-id"));
  });

  test("an unknown route is a 404 not_found in the contract's shape", async (t) => {
    const { url } = await startServer(t);
    const response = await fetch(`${url}/nope`);
    assert.equal(response.status, 404);
    assert.deepEqual(await response.json(), { error: { code: "not_found", message: "No such route" } });
  });

  test("a wrong method on a known path is a 405 with Allow", async (t) => {
    const { url } = await startServer(t);
    const response = await fetch(`${url}/healthz`, { method: "DELETE" });
    assert.equal(response.status, 405);
    assert.equal(response.headers.get("allow"), "GET");
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, "method_not_allowed");
    const onSession = await fetch(`${url}/api/sessions/01937c4e-0000-7000-8000-000000000000`, { method: "PUT" });
    assert.equal(onSession.status, 405);
    assert.equal(onSession.headers.get("allow"), "GET, PATCH, DELETE");
  });

  test("a body over 1 MiB is answered with 413, not a reset connection", async (t) => {
    const { url } = await startServer(t);
    const response = await fetch(`${url}/healthz`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ padding: "x".repeat(1_100_000) }),
    });
    assert.equal(response.status, 413);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, "payload_too_large");
  });

  test("a handler that takes longer than REQUEST_TIMEOUT is answered 503 request_timeout", async (t) => {
    const { app, url } = await startServer(t, { REQUEST_TIMEOUT: "1s" });
    app.usage.list = () => new Promise(() => {}); // a lookup that never returns
    const response = await fetch(`${url}/api/usage`);
    assert.equal(response.status, 503);
    assert.equal(((await response.json()) as { error: { code: string } }).error.code, "request_timeout");
    assert.equal((await fetch(`${url}/healthz`)).status, 200, "the server keeps serving");
  });

  test("a client that does not finish sending its request in time gets 408 in the contract's shape", async (t) => {
    const { url } = await startServer(t, { REQUEST_TIMEOUT: "1s" });
    const { port } = new URL(url);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(port), "127.0.0.1", () => {
        // Promise 100 bytes, send 2, then stall.
        socket.write(
          "POST /api/chat HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{}",
        );
      });
      let received = "";
      socket.on("data", (data) => {
        received += data.toString();
      });
      socket.on("close", () => resolve(received));
      socket.on("error", reject);
    });
    assert.match(answer, /^HTTP\/1\.1 408/);
    assert.equal(JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)).error.code, "request_timeout");
  });

  test("a request Node cannot parse is a 400 invalid_request; to HEAD, the head alone", async (t) => {
    const { url } = await startServer(t);
    const { port } = new URL(url);
    const send = (method: string) =>
      new Promise<Buffer>((resolve, reject) => {
        const chunks: Buffer[] = [];
        const socket = connect(Number(port), "127.0.0.1", () => {
          // Bytes 0xFF 0xE9 in the path: not a valid request line.
          socket.write(
            Buffer.concat([
              Buffer.from(`${method} /`),
              Buffer.from([0xff, 0xe9]),
              Buffer.from(" HTTP/1.1\r\nhost: x\r\n\r\n"),
            ]),
          );
        });
        socket.on("data", (data) => chunks.push(data));
        socket.on("close", () => resolve(Buffer.concat(chunks)));
        socket.on("error", reject);
      });
    const get = (await send("GET")).toString();
    assert.match(get, /^HTTP\/1\.1 400 /);
    assert.equal(JSON.parse(get.slice(get.indexOf("\r\n\r\n") + 4)).error.code, "invalid_request");
    const head = (await send("HEAD")).toString();
    assert.match(head, /^HTTP\/1\.1 400 /);
    assert.equal(head.slice(head.indexOf("\r\n\r\n") + 4), "", "no body after a HEAD's head");
  });

  test("the OpenAPI document is public and names every route with its methods", async (t) => {
    const { app, url } = await startServer(t, { AUTH: "apikey" });
    const response = await fetch(`${url}/api/openapi.json`);
    assert.equal(response.status, 200);
    const document = (await response.json()) as OpenApiDocument;
    assert.equal(document.openapi, "3.1.0");
    // Compared with the routes the built app really registered, both ways: a route added
    // without documentation, or documentation left behind by a removed route, fails here.
    const served = servedRoutes(createHttpApp(app));
    for (const [path, methods] of served) {
      const documented = document.paths[path.replace(/:(\w+)/g, "{$1}")];
      assert.ok(documented, path);
      assert.deepEqual(Object.keys(documented).sort(), methods.map((method) => method.toLowerCase()).sort(), path);
    }
    for (const [path] of documentedRoutes(document)) {
      assert.ok(
        served.some(([servedPath]) => servedPath === path),
        `${path} is documented but not served`,
      );
    }
    for (const path of ["/api/sessions", "/api/memories", "/api/usage", "/api/chat/{id}/stream"]) {
      assert.ok(document.paths[path], path);
    }
    const text = JSON.stringify(document);
    for (const [, id] of text.matchAll(/"#\/components\/schemas\/(\w+)"/g)) {
      assert.ok(id && document.components.schemas[id], `the referenced schema ${id} exists`);
    }
  });

  test("the completeness check reads the app's own route table, so an undocumented route shows up", async (t) => {
    const http = createHttpApp(await makeTestApp(t));
    http.get("/api/undocumented", (context) => context.json({}));
    assert.deepEqual(
      servedRoutes(http).find(([path]) => path === "/api/undocumented"),
      ["/api/undocumented", ["GET"]],
    );
    assert.equal(openApiDocument().paths["/api/undocumented"], undefined);
  });

  test("the document marks exactly the /api routes that answer without a token as public", async (t) => {
    const http = createHttpApp(await makeTestApp(t, { environment: { AUTH: "apikey" } }));
    const document = openApiDocument();
    const apiRoutes = documentedRoutes(document).filter(([path]) => path.startsWith("/api/"));
    for (const [path, methods] of apiRoutes) {
      for (const method of methods) {
        const operation = document.paths[path.replace(/:(\w+)/g, "{$1}")]?.[method.toLowerCase()];
        const documentedPublic = Array.isArray(operation?.security) && operation.security.length === 0;
        const response = await http.request(path.replace(/:\w+/g, "01937c4e-0000-7000-8000-000000000000"), { method });
        assert.equal(response.status !== 401, documentedPublic, `${method} ${path}`);
      }
    }
  });

  test("every documented operation lists its errors with the statuses of the error table", () => {
    const document = openApiDocument();
    const responses = (path: string, method: string) => Object.keys(document.paths[path]?.[method]?.responses ?? {});
    assert.deepEqual(responses("/api/sessions/{id}", "patch"), [
      "200",
      "400",
      "401",
      "404",
      "405",
      "413",
      "500",
      "503",
    ]);
    assert.deepEqual(responses("/healthz", "get"), ["200", "405", "500", "503"]);
    assert.match(
      JSON.stringify(document.paths["/api/chat"]?.post?.responses["409"]),
      /session_busy/,
      "a code is described under its status",
    );
  });

  test("real answers match the response schemas the OpenAPI document is made from", async (t) => {
    const { url, app } = await startChatServer(t, { model: scriptedModel(["hi there"]) });
    const { chunks } = await sendChat(url, { messages: [userMessage("hello")] });
    const sessionId = sessionIdOf(chunks);
    await app.turns.settled();
    sessionList.parse((await callApi(url, "GET", "/api/sessions")).body);
    session.parse((await callApi(url, "GET", `/api/sessions/${sessionId}`)).body.session);
    const traced = trace.parse((await callApi(url, "GET", `/api/sessions/${sessionId}/trace`)).body);
    assert.equal(traced.turns.length, 1);
    assert.equal(usage.parse((await callApi(url, "GET", "/api/usage")).body).usage[0]?.turns, 1);
  });
});
