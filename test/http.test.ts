import assert from "node:assert/strict";
import { describe, type TestContext, test } from "node:test";
import { createHttpApp, startHttpServer } from "@session-bridge/server";
import { makeTestApp } from "./_setup.ts";

async function startServer(t: TestContext) {
  const app = await makeTestApp(t);
  const server = await startHttpServer(createHttpApp(app), { host: "127.0.0.1", port: 0 });
  t.after(() => server.close());
  return { app, url: server.url };
}

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
});
