import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  postJson,
  scriptedModel,
  sendChat,
  sendChatUntilAnswerBegins,
  sessionIdOf,
  startChatServer,
  userMessage,
} from "./_chat.ts";
import { querySql } from "./_setup.ts";

describe("one turn per session across processes", () => {
  test("a second server on the same database answers 409 while the first runs a turn of the session", async (t) => {
    const slowAnswer = Array.from({ length: 20 }, (_, index) => `w${index}`).join(" ");
    const first = await startChatServer(t, { model: scriptedModel(["hi", slowAnswer], 40) });
    const second = await startChatServer(t, {
      dataDir: first.dataDir,
      model: scriptedModel(["from the second server"]),
    });
    const opening = await sendChat(first.url, { messages: [userMessage("open")] });
    const sessionId = sessionIdOf(opening.chunks);
    await first.app.turns.settled();

    const running = await sendChatUntilAnswerBegins(first.url, { messages: [userMessage("slow turn")], sessionId });
    const busy = await postJson(second.url, { messages: [userMessage("meanwhile")], sessionId });
    assert.deepEqual([busy.status, busy.body.error?.code], [409, "session_busy"]);
    await running.finished;
    await first.app.turns.settled();

    const after = await sendChat(second.url, { messages: [userMessage("now")], sessionId });
    assert.equal(sessionIdOf(after.chunks), sessionId);
  });

  test("a lease left by a killed process blocks until it expires, then the session works again", async (t) => {
    const { url, app } = await startChatServer(t, { model: scriptedModel(["ok"]) });
    const opening = await sendChat(url, { messages: [userMessage("open")] });
    const sessionId = sessionIdOf(opening.chunks);
    await app.turns.settled();
    const leave = (until: number) =>
      querySql(app, "UPDATE sessions SET turn_lease_id = 'dead-process', turn_lease_until = ? WHERE id = ?", [
        until,
        sessionId,
      ]);

    await leave(Date.now() + 30_000);
    const blocked = await postJson(url, { messages: [userMessage("blocked")], sessionId });
    assert.equal(blocked.status, 409);

    await leave(Date.now() - 1); // what 30 s later looks like
    const before = (await app.sessions.get("local", sessionId))?.lastAccessed.getTime() ?? 0;
    await new Promise((resolve) => setTimeout(resolve, 5)); // the clock moves on, so the turn's touch shows
    const freed = await sendChat(url, { messages: [userMessage("free again")], sessionId });
    assert.equal(sessionIdOf(freed.chunks), sessionId);
    await app.turns.settled();
    const lease = await querySql(app, "SELECT turn_lease_id FROM sessions WHERE id = ?", [sessionId]);
    assert.equal(lease[0]?.turn_lease_id, null, "a finished turn releases its lease");
    const after = (await app.sessions.get("local", sessionId))?.lastAccessed.getTime() ?? 0;
    assert.ok(after > before, "a turn marks its session used");
  });
});
