import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { ChatMessage } from "@session-bridge/shared";
import { thoughtChunks } from "../fixtures/model-chunks.ts";
import { callApi, scriptedModel, sendChat, sessionIdOf, startChatServer, userMessage } from "./_chat.ts";
import { dataPlaceOf, eventually, makeTempDir, makeTestApp, querySql } from "./_setup.ts";

interface ListedJson {
  sessions: { id: string; title: string | null; messageCount: number }[];
}
interface SessionJson {
  session: { id: string; title: string | null; messageCount: number };
  messages: { id: string }[];
}

/** Counts the reads the two cached routes make (`app.listSessions`, `app.memory.listMessages`). */
function countReads(app: Awaited<ReturnType<typeof startChatServer>>["app"]) {
  const counts = { pages: 0, sessions: 0 };
  const listSessions = app.listSessions;
  app.listSessions = (...args) => {
    counts.pages++;
    return listSessions(...args);
  };
  const listMessages = app.memory.listMessages;
  app.memory.listMessages = (...args) => {
    counts.sessions++;
    return listMessages(...args);
  };
  return counts;
}

/** Both embedded layouts: the default two files, and app and memory in one file (attached to itself). */
const layouts: [string, (dataDir: string) => Record<string, string>][] = [
  ["two files", () => ({})],
  [
    "one file",
    (dataDir) => ({ DATABASE_URL: `file:${dataDir}/one.db`, MEMORY_DATABASE_URL: `file:${dataDir}/one.db` }),
  ],
];

describe("sessions API answer cache", () => {
  for (const [layout, environmentOf] of layouts) {
    test(`answers again from memory only while nothing it shows has changed, whoever changed it (${layout})`, async (t) => {
      const dataDir = await makeTempDir(t);
      const environment = environmentOf(dataDir);
      const { app, url } = await startChatServer(t, { model: scriptedModel(["ok"]), dataDir, environment });
      const first = sessionIdOf((await sendChat(url, { messages: [userMessage("first chat")] })).chunks);
      const second = sessionIdOf((await sendChat(url, { messages: [userMessage("second chat")] })).chunks);
      await app.turns.settled();
      const reads = countReads(app);
      const list = async () => (await callApi(url, "GET", "/api/sessions")).body as unknown as ListedJson;
      const get = async (id: string) =>
        (await callApi(url, "GET", `/api/sessions/${id}`)).body as unknown as SessionJson;
      const listed = (page: ListedJson) => page.sessions.map((item) => [item.id, item.title, item.messageCount]);

      // Unchanged data: the second read of each is the first one's answer, not read again.
      const page = await list();
      assert.deepEqual(listed(page), [
        [second, "second chat", 2],
        [first, "first chat", 2],
      ]);
      assert.deepEqual(listed(await list()), listed(page));
      assert.equal((await get(first)).messages.length, 2);
      assert.equal((await get(first)).messages.length, 2);
      assert.deepEqual(reads, { pages: 1, sessions: 1 });

      // A turn (messages saved, the session touched).
      await sendChat(url, { sessionId: first, messages: [userMessage("again")] });
      await app.turns.settled();
      assert.deepEqual(listed(await list()), [
        [first, "first chat", 4],
        [second, "second chat", 2],
      ]);
      assert.equal((await get(first)).messages.length, 4);
      assert.deepEqual(reads, { pages: 2, sessions: 2 });

      // A rename through the API.
      assert.equal((await callApi(url, "PATCH", `/api/sessions/${first}`, { body: { title: "Renamed" } })).status, 200);
      assert.equal((await get(first)).session.title, "Renamed");
      assert.equal((await list()).sessions[0]?.title, "Renamed");

      // Another app on the same files (its own connections, as another process would have): a rename,
      // then a message deleted by hand in the memory's file.
      const other = await makeTestApp(t, { dataDir, environment });
      assert.ok(await other.sessions.rename("local", second, "Renamed elsewhere"));
      assert.equal((await list()).sessions[1]?.title, "Renamed elsewhere");
      const place = dataPlaceOf(dataDir, environment);
      const [oldest] = await querySql(
        place,
        `SELECT id FROM mastra_messages WHERE thread_id = ? ORDER BY "createdAt" LIMIT 1`,
        [first],
        { memory: true },
      );
      await querySql(place, "DELETE FROM mastra_messages WHERE id = ?", [oldest?.id], { memory: true });
      assert.equal((await get(first)).messages.length, 3);
      assert.equal((await list()).sessions[0]?.messageCount, 3);
      // And a session's row changed by hand in the app's file.
      await querySql(place, "UPDATE sessions SET title = ? WHERE id = ?", ["By hand", first]);
      assert.equal((await get(first)).session.title, "By hand");
      assert.equal((await list()).sessions[0]?.title, "By hand");

      // A deletion: the session is gone from both reads.
      assert.equal((await callApi(url, "DELETE", `/api/sessions/${first}`)).status, 204);
      assert.equal((await callApi(url, "GET", `/api/sessions/${first}`)).status, 404);
      assert.deepEqual(
        (await list()).sessions.map((item) => item.id),
        [second],
      );
    });
  }

  test("reads the version before the data: a write made while an answer is built is never hidden by it", async (t) => {
    const { app, url } = await startChatServer(t, { model: scriptedModel(["ok"]) });
    const id = sessionIdOf((await sendChat(url, { messages: [userMessage("before")] })).chunks);
    await app.turns.settled();
    // The first page read renames the session right after reading it: its answer shows the old title.
    const listSessions = app.listSessions;
    let renameAfterRead = true;
    app.listSessions = async (...args) => {
      const page = await listSessions(...args);
      if (renameAfterRead) {
        renameAfterRead = false;
        await app.sessions.rename("local", id, "after");
      }
      return page;
    };
    const titles = async () =>
      ((await callApi(url, "GET", "/api/sessions")).body as unknown as ListedJson).sessions.map((item) => item.title);
    assert.deepEqual(await titles(), ["before"]);
    assert.deepEqual(await titles(), ["after"]);
  });

  test("a running turn's answer, saved step by step, appears in a session read once the turn ends", async (t) => {
    const thought = thoughtChunks();
    const words = Array.from({ length: 100 }, (_, index) => `word${index}`).join(" ");
    const { app, url } = await startChatServer(t, { model: scriptedModel(["hi", thought, words], 20) });
    const id = sessionIdOf((await sendChat(url, { messages: [userMessage("hello")] })).chunks);
    await app.turns.settled();
    const shown = async () =>
      ((await callApi(url, "GET", `/api/sessions/${id}`)).body as unknown as SessionJson).messages.length;
    assert.equal(await shown(), 2);
    const turn = sendChat(url, { sessionId: id, messages: [userMessage("think")] });
    const runningSaved = async () =>
      (await app.memory.listMessages(id, "local", { includeRunning: true })).some(
        (message: ChatMessage) =>
          message.role === "assistant" && message.parts.some((part) => part.type === "tool-sequentialThinking"),
      );
    assert.ok(await eventually(runningSaved), "the first step was saved while the turn ran");
    // The question is shown, the running answer (already saved, raising the version) is not.
    assert.equal(await shown(), 3);
    assert.equal(await shown(), 3);
    await turn;
    await app.turns.settled();
    assert.equal(await shown(), 4);
  });

  test("while a trigger is missing nothing is cached; made again on open, every answer made before is stale", async (t) => {
    const dataDir = await makeTempDir(t);
    const first = await makeTestApp(t, { dataDir, model: scriptedModel(["ok"]) });
    await first.sessions.create("local", { title: "kept" });
    const before = await first.sessionsVersion?.("local");
    assert.ok(before);
    const triggers = async (place: typeof first, memory: boolean) =>
      (
        await querySql(
          place,
          "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE '%versions_v1_%' AND name NOT LIKE 'session_bridge_vector_versions%' ORDER BY name",
          [],
          { memory },
        )
      ).map((row) => String(row.name));
    const made = { app: await triggers(first, false), memory: await triggers(first, true) };
    assert.equal(made.app.length, 3);
    assert.equal(made.memory.length, 4);
    // As a tool that rebuilt Mastra's thread table would leave it: one trigger gone (the others checked all the same).
    await querySql(first, "DROP TRIGGER session_bridge_message_versions_v1_thread", [], { memory: true });
    // A running server sees it gone: no version, so nothing is answered from memory.
    assert.equal(await first.sessionsVersion?.("local"), undefined);
    await first.close();

    const second = await makeTestApp(t, { dataDir });
    assert.deepEqual({ app: await triggers(second, false), memory: await triggers(second, true) }, made);
    const after = await second.sessionsVersion?.("local");
    assert.ok(after && after !== before, `${before} -> ${after}`);
    // Each file's whole counter started at a random value, not at 1: a table made again does not repeat old values.
    const [appWhole, , memoryWhole] = after.split(".").map(Number);
    assert.ok(Number(appWhole) > 1000 && Number(memoryWhole) > 1000, after);
  });

  test("one user's answers are never another's, and another user's writes leave them cached", async (t) => {
    const { app, url } = await startChatServer(t, {
      model: scriptedModel(["ok"]),
      environment: { AUTH: "apikey", HOST: "127.0.0.1" },
    });
    const tokenOf = async (name: string) => {
      const { apiKey } = await app.users.create(name);
      return (await callApi(url, "POST", "/api/auth/token", { body: { apiKey } })).body.token as string;
    };
    const alice = await tokenOf("alice");
    const bob = await tokenOf("bob");
    const chat = async (token: string, text: string) => {
      const { chunks } = await sendChat(url, { token, messages: [userMessage(text)] });
      assert.equal(chunks.at(-1)?.type, "finish");
      await app.turns.settled();
    };
    await chat(alice, "alice's chat");
    await chat(bob, "bob's chat");
    const reads = countReads(app);
    const alicePage = await callApi(url, "GET", "/api/sessions", { token: alice });
    const [aliceSession] = (alicePage.body as unknown as ListedJson).sessions;
    assert.equal(aliceSession?.title, "alice's chat");
    assert.equal((await callApi(url, "GET", `/api/sessions/${aliceSession.id}`, { token: alice })).status, 200);

    // Bob asks for the same things: not Alice's answers.
    const bobPage = await callApi(url, "GET", "/api/sessions", { token: bob });
    assert.deepEqual(
      (bobPage.body as unknown as ListedJson).sessions.map((item) => item.title),
      ["bob's chat"],
    );
    assert.equal((await callApi(url, "GET", `/api/sessions/${aliceSession.id}`, { token: bob })).status, 404);
    assert.deepEqual(reads, { pages: 2, sessions: 1 });

    // Bob's turn changes nothing of Alice's: her answers still come from memory.
    await chat(bob, "bob's second chat");
    assert.deepEqual((await callApi(url, "GET", "/api/sessions", { token: alice })).body, alicePage.body);
    assert.equal((await callApi(url, "GET", `/api/sessions/${aliceSession.id}`, { token: alice })).status, 200);
    assert.deepEqual(reads, { pages: 2, sessions: 1 });
  });

  test("API_CACHE_MB=0 reads every answer afresh", async (t) => {
    const { app, url } = await startChatServer(t, {
      model: scriptedModel(["ok"]),
      environment: { API_CACHE_MB: "0" },
    });
    const id = sessionIdOf((await sendChat(url, { messages: [userMessage("hello")] })).chunks);
    await app.turns.settled();
    const reads = countReads(app);
    for (let round = 0; round < 2; round++) {
      assert.equal((await callApi(url, "GET", "/api/sessions")).status, 200);
      assert.equal((await callApi(url, "GET", `/api/sessions/${id}`)).status, 200);
    }
    assert.deepEqual(reads, { pages: 2, sessions: 2 });
  });
});
