import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { type AddressInfo, createServer } from "node:net";
import path from "node:path";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { createClient } from "@libsql/client";
import { runSessionBridge, sessionBridgeBin } from "./_process.ts";
import { makeTempDir } from "./_setup.ts";

test("migrate --json prints one JSON line and creates the tables", async (t) => {
  const dataDir = await makeTempDir(t);
  const result = await runSessionBridge(["migrate", "--json"], { DATA_DIR: dataDir });
  assert.equal(result.code, 0, result.stderr);
  const status = JSON.parse(result.stdout);
  assert.ok(status.available >= 2);
  assert.equal(status.applied, status.available);
  assert.equal(result.stdout.trim().split("\n").length, 1);
  const client = createClient({ url: `file:${path.join(dataDir, "session-bridge.db")}` });
  t.after(() => client.close());
  const tables = await client.execute("SELECT name FROM sqlite_master WHERE name = 'tool_sessions'");
  assert.equal(tables.rows.length, 1);
  assert.equal(status.vectorIndexOutdated, false);

  // A vector index from an earlier release, holding vectors: migrate keeps it and says what rebuilds it.
  const memory = createClient({ url: `file:${path.join(dataDir, "memory.db")}` });
  t.after(() => memory.close());
  const table = "memory_messages_local_use_lite_512";
  await memory.execute(`DROP INDEX ${table}_vector_idx`);
  await memory.execute(`CREATE INDEX ${table}_vector_idx ON ${table} (libsql_vector_idx(embedding))`);
  await memory.execute({
    sql: `INSERT INTO ${table} (vector_id, embedding, metadata) VALUES ('v', vector32(?), '{}')`,
    args: [JSON.stringify(Array.from({ length: 512 }, (_, index) => (index === 0 ? 1 : 0)))],
  });
  const again = await runSessionBridge(["migrate", "--json"], { DATA_DIR: dataDir });
  assert.equal(again.code, 0, again.stderr);
  assert.equal(JSON.parse(again.stdout).vectorIndexOutdated, true);
  const text = await runSessionBridge(["migrate"], { DATA_DIR: dataDir });
  assert.match(text.stdout, /run session-bridge reindex\.\n$/);
  const [index] = (
    await memory.execute({ sql: "SELECT sql FROM sqlite_master WHERE name = ?", args: [`${table}_vector_idx`] })
  ).rows;
  assert.doesNotMatch(String(index?.sql), /compress_neighbors/, "migrate leaves it to reindex");
});

test("cleanup --dry-run reports without removing; text output ends with a summary line", async (t) => {
  const dataDir = await makeTempDir(t);
  const json = await runSessionBridge(["cleanup", "--dry-run", "--json"], { DATA_DIR: dataDir });
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual(JSON.parse(json.stdout), { dryRun: true, expiredSessions: 0, excessSessions: 0, idleRepos: 0 });
  const text = await runSessionBridge(["cleanup"], { DATA_DIR: dataDir });
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, /^Removed 0 expired sessions, 0 excess sessions and 0 idle repositories\.\n$/);
});

test("a bad variable stops with one line on stderr naming it and a non-zero exit", async (t) => {
  const result = await runSessionBridge(["migrate"], { DATA_DIR: await makeTempDir(t), SESSION_TTL: "soon" });
  assert.equal(result.code, 1);
  assert.equal(result.stdout, "");
  assert.match(result.stderr, /^session-bridge: Invalid configuration: SESSION_TTL: [^\n]+\n$/);
});

test("unknown commands and options are usage errors", async () => {
  for (const args of [["frobnicate"], ["migrate", "--frob"], ["migrate", "--dry-run"], []]) {
    const result = await runSessionBridge(args, {});
    assert.equal(result.code, 2, args.join(" "));
    assert.match(result.stderr, /^session-bridge: .+\n$/);
  }
});

test("serve migrates, reports ready and shuts down cleanly on SIGTERM", async (t) => {
  const dataDir = await makeTempDir(t);
  const child = spawn(process.execPath, [sessionBridgeBin, "serve"], {
    env: { ...process.env, DATA_DIR: dataDir, LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  t.after(() => child.kill("SIGKILL"));
  const messages: string[] = [];
  for await (const line of createInterface({ input: child.stdout })) {
    const entry = JSON.parse(line) as { msg: string; level: number };
    messages.push(entry.msg);
    if (entry.msg === "session bridge ready") break;
  }
  assert.deepEqual(messages.slice(0, 3), ["database migrated", "repository cache checked", "session bridge ready"]);
  child.kill("SIGTERM");
  const [code] = await once(child, "exit");
  assert.equal(code, 0);
});

test("users create --json prints id, name and the API key once; list and revoke follow", async (t) => {
  const dataDir = await makeTempDir(t);
  const created = await runSessionBridge(["users", "create", "alice", "--json"], { DATA_DIR: dataDir });
  assert.equal(created.code, 0, created.stderr);
  const user = JSON.parse(created.stdout) as { id: string; name: string; apiKey: string };
  assert.deepEqual(Object.keys(user).sort(), ["apiKey", "id", "name"]);
  assert.equal(user.name, "alice");
  assert.match(user.apiKey, /^sbk_/);
  const listed = await runSessionBridge(["users", "list"], { DATA_DIR: dataDir });
  assert.match(listed.stdout, new RegExp(`${user.id}\\s+alice\\n`));
  assert.doesNotMatch(listed.stdout, /sbk_/, "the key is never shown again");
  assert.equal((await runSessionBridge(["users", "revoke", user.id], { DATA_DIR: dataDir })).code, 0);
  assert.match((await runSessionBridge(["users", "list"], { DATA_DIR: dataDir })).stdout, /\(revoked\)/);
  const again = await runSessionBridge(["users", "revoke", user.id], { DATA_DIR: dataDir });
  assert.equal(again.code, 1);
  assert.match(again.stderr, /^session-bridge: no active user/);
});

test("serve on a port already in use stops with a non-zero exit, its embedder threads and timers gone", {
  timeout: 60_000,
}, async (t) => {
  const taken = createServer();
  taken.listen(0, "127.0.0.1");
  await once(taken, "listening");
  t.after(() => taken.close());
  const { port } = taken.address() as AddressInfo;
  // execFile waits for the process to exit: a hang (a live thread or timer) fails the test by timing out.
  const result = await runSessionBridge(["serve"], {
    DATA_DIR: await makeTempDir(t),
    HOST: "127.0.0.1",
    PORT: String(port),
    EMBEDDER_THREADS: "1",
  });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /EADDRINUSE/);
});
