import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { describe, test } from "node:test";
import { createClient } from "@libsql/client";
import { v7 as uuidv7 } from "uuid";
import { exportUser } from "../packages/server/src/transfer/export-user.ts";
import { backendEnvironment, testBackends } from "./_backends.ts";
import { callApi, postJson, scriptedModel, sendChat, sessionIdOf, startChatServer, userMessage } from "./_chat.ts";
import { runSessionBridge } from "./_process.ts";
import { exists, makeTempDir, makeTestApp } from "./_setup.ts";

const apikey = { AUTH: "apikey" };

async function tokenFor(url: string, apiKey: string): Promise<string> {
  const response = await postJson(url, { apiKey }, { path: "/api/auth/token" });
  assert.equal(response.status, 200);
  return (response.body as unknown as { token: string }).token;
}

/** Rows of the app database's tables, for checking that nothing was written. */
async function countRows(dataDir: string): Promise<Record<string, number>> {
  const client = createClient({ url: `file:${path.join(dataDir, "session-bridge.db")}` });
  try {
    const counts: Record<string, number> = {};
    for (const table of ["users", "sessions", "memories", "tool_sessions"]) {
      const result = await client.execute(`SELECT count(*) AS count FROM ${table}`);
      counts[table] = Number(result.rows[0]?.count);
    }
    return counts;
  } finally {
    client.close();
  }
}

const line = (record: Record<string, unknown>) => `${JSON.stringify(record)}\n`;
const sessionLine = (id: string, title: string) =>
  line({ type: "session", id, title, createdAt: "2026-01-01T00:00:00.000Z", lastAccessed: "2026-01-01T00:00:00.000Z" });
const header = line({
  type: "header",
  format: "session-bridge-export",
  version: 1,
  exportedAt: "2026-01-02T00:00:00.000Z",
});

describe("export and import", () => {
  // The second is a user's way from one machine to many: a libSQL file's export imported into PostgreSQL.
  for (const targetBackend of testBackends()) {
    test(`moves a user's sessions, messages, memories and tool sessions to a fresh ${targetBackend} data dir, once`, async (t) => {
      const source = await startChatServer(t, {
        model: scriptedModel(["We settled on blue-green deploys.", "Noted."]),
        environment: apikey,
      });
      const { user, apiKey } = await source.app.users.create("alice");
      const sourceToken = await tokenFor(source.url, apiKey);
      const sessionIds: string[] = [];
      for (const text of ["How do we roll out the billing service without downtime?", "Second chat, about lunch"]) {
        const { chunks } = await sendChat(source.url, {
          messages: [userMessage(text)],
          token: sourceToken,
        });
        sessionIds.push(sessionIdOf(chunks));
      }
      await source.app.turns.settled();
      await source.app.memories.add(user.id, { scope: "user", text: "Call me Al." });
      await source.app.memories.add(user.id, {
        scope: "session",
        sessionId: sessionIds[0],
        text: "No deploys on Friday.",
      });
      const thinking = await source.app.toolSessions.getOrCreate(sessionIds[0] as string, "sequentialThinking", null);
      await source.app.toolSessions.writeState(thinking.id, { thoughts: ["first"] });

      const file = path.join(await makeTempDir(t), "alice.jsonl");
      const exported = await runSessionBridge(["export", user.id, "--out", file, "--json"], {
        DATA_DIR: source.dataDir,
        ...apikey,
      });
      assert.equal(exported.code, 0, exported.stderr);
      assert.deepEqual(JSON.parse(exported.stdout), {
        userId: user.id,
        sessions: 2,
        messages: 4,
        memories: 2,
        toolSessions: 1,
        out: file,
      });
      const text = await readFile(file, "utf8");
      assert.doesNotMatch(text, /sbk_|api_?key/i, "no API key or hash leaves the machine");
      assert.deepEqual(
        text
          .trim()
          .split("\n")
          .map((entry) => JSON.parse(entry).type),
        // Sessions in the order they were created (a key that never moves while the server runs).
        [
          "header",
          "user",
          "memory",
          "session",
          "message",
          "message",
          "memory",
          "tool_session",
          "session",
          "message",
          "message",
        ],
      );

      const targetDir = await makeTempDir(t);
      const targetEnvironment = { DATA_DIR: targetDir, ...apikey, ...(await backendEnvironment(t, targetBackend)) };
      const imported = await runSessionBridge(["import", file, "--json"], targetEnvironment);
      assert.equal(imported.code, 0, imported.stderr);
      const report = JSON.parse(imported.stdout);
      assert.equal(report.userId, user.id);
      assert.equal(report.userCreated, true);
      assert.match(report.apiKey, /^sbk_/);
      assert.deepEqual(report.imported, { sessions: 2, messages: 4, memories: 2, toolSessions: 1 });
      assert.equal(report.embedded, 4);

      const again = await runSessionBridge(["import", file, "--json"], targetEnvironment);
      assert.equal(again.code, 0, again.stderr);
      const second = JSON.parse(again.stdout);
      assert.deepEqual(second.imported, { sessions: 0, messages: 0, memories: 0, toolSessions: 0 });
      assert.deepEqual(second.kept, { sessions: 2, messages: 4, memories: 2, toolSessions: 1 });
      assert.equal(second.userCreated, false);
      assert.equal(second.apiKey, undefined, "an existing user gets no new key");

      const roundTrip = path.join(path.dirname(file), "again.jsonl");
      const reexported = await runSessionBridge(["export", user.id, "--out", roundTrip], targetEnvironment);
      assert.equal(reexported.code, 0, reexported.stderr);
      const withoutHeader = (content: string) => content.split("\n").slice(1);
      assert.deepEqual(
        withoutHeader(await readFile(roundTrip, "utf8")),
        withoutHeader(text),
        "exporting the import gives the same records: ids, times, parts and metadata kept",
      );

      const target = await startChatServer(t, { dataDir: targetDir, environment: targetEnvironment });
      const targetToken = await tokenFor(target.url, report.apiKey);
      for (const sessionId of sessionIds) {
        const before = await callApi(source.url, "GET", `/api/sessions/${sessionId}`, { token: sourceToken });
        const after = await callApi(target.url, "GET", `/api/sessions/${sessionId}`, { token: targetToken });
        assert.equal(after.status, 200);
        assert.deepEqual(after.body, before.body, "the same session and UIMessage[] on both machines");
      }
      assert.deepEqual(await target.app.memories.list(user.id), await source.app.memories.list(user.id));
      assert.deepEqual(
        await target.app.toolSessions.listForSession(sessionIds[0] as string),
        await source.app.toolSessions.listForSession(sessionIds[0] as string),
      );

      const fresh = await target.app.sessions.create(user.id);
      const recall = await target.app.memory.recall({
        sessionId: fresh.id,
        resourceId: user.id,
        query: "shipping the billing service with zero downtime",
      });
      const hit = recall.recalled.find((item) => item.foundBy.length > 0 && item.sessionId === sessionIds[0]);
      assert.ok(hit, "semantic recall finds the imported conversation");
    });
  }

  test("a bad line stops the import with its line number and nothing written", async (t) => {
    const dataDir = await makeTempDir(t);
    const file = path.join(dataDir, "bad.jsonl");
    const sessionId = uuidv7();
    await writeFile(
      file,
      header +
        line({ type: "user", id: uuidv7(), name: "carol" }) +
        sessionLine(sessionId, "ok") +
        line({
          type: "message",
          sessionId,
          createdAt: "2026-01-01T00:00:01.000Z",
          id: "m1",
          role: "user",
          parts: [{ type: "text", text: "hello" }],
        }) +
        line({ type: "message", sessionId, createdAt: "yesterday", id: "m2", role: "user", parts: [] }),
    );
    const result = await runSessionBridge(["import", file], { DATA_DIR: dataDir });
    assert.equal(result.code, 1);
    assert.equal(result.stdout, "");
    assert.match(
      result.stderr,
      /^session-bridge: .*bad\.jsonl, line 5: message createdAt: [^\n]+; nothing was imported\n$/,
    );
    assert.equal(
      await exists(path.join(dataDir, "session-bridge.db")),
      false,
      "the file is checked before any database opens",
    );

    await writeFile(file, `${header}{"type":"user",\n`);
    const broken = await runSessionBridge(["import", file], { DATA_DIR: dataDir });
    assert.match(broken.stderr, /line 2: not valid JSON/);
  });

  test("a session that belongs to another user here is refused, nothing written", async (t) => {
    const dataDir = await makeTempDir(t);
    const app = await makeTestApp(t, { dataDir });
    const bob = await app.users.create("bob");
    const bobs = await app.sessions.create(bob.user.id);
    const file = path.join(dataDir, "mallory.jsonl");
    await writeFile(
      file,
      header + line({ type: "user", id: uuidv7(), name: "mallory" }) + sessionLine(bobs.id, "mine now"),
    );
    const before = await countRows(dataDir);
    const result = await runSessionBridge(["import", file], { DATA_DIR: dataDir });
    assert.equal(result.code, 1);
    assert.match(result.stderr, new RegExp(`^session-bridge: line 3: session ${bobs.id} already exists here`));
    assert.deepEqual(await countRows(dataDir), before);
    assert.equal((await app.sessions.get(bob.user.id, bobs.id))?.title, null);
  });

  test("export of an unknown user fails with one line; without --out the lines go to stdout", async (t) => {
    const dataDir = await makeTempDir(t);
    const unknown = await runSessionBridge(["export", "nobody"], { DATA_DIR: dataDir });
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stdout, "");
    assert.match(unknown.stderr, /^session-bridge: no user with id nobody [^\n]*\n$/);

    const local = await runSessionBridge(["export", "local", "--json"], { DATA_DIR: dataDir });
    assert.equal(local.code, 0, local.stderr);
    const records = local.stdout
      .trim()
      .split("\n")
      .map((entry) => JSON.parse(entry));
    assert.deepEqual(
      records.map((record) => record.type),
      ["header", "user"],
    );
    assert.deepEqual(JSON.parse(local.stderr), {
      userId: "local",
      sessions: 0,
      messages: 0,
      memories: 0,
      toolSessions: 0,
      out: null,
    });
    assert.equal((await runSessionBridge(["import"], { DATA_DIR: dataDir })).code, 2);
    assert.equal((await runSessionBridge(["migrate", "--out", "x"], { DATA_DIR: dataDir })).code, 2);
  });
});

test("a session used while its user is exported is written once, not skipped", async (t) => {
  const app = await makeTestApp(t);
  const created: string[] = [];
  // More than one page of sessions (pages hold 100).
  for (let index = 0; index < 130; index++)
    created.push((await app.sessions.create("local", { title: `s${index}` })).id);
  const written: string[] = [];
  let touched = false;
  await exportUser(app, "local", {
    async write(text) {
      const record = JSON.parse(text) as { type: string; id?: string };
      if (record.type !== "session" || !record.id) return;
      written.push(record.id);
      if (!touched) {
        // A user chats in an old session (the last one a most-recently-used order would reach).
        touched = true;
        await app.sessions.touch("local", created[0] as string);
      }
    },
  });
  assert.equal(written.length, created.length);
  assert.deepEqual([...written].sort(), [...created].sort());
});
