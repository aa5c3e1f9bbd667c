import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { exists, makeClock, makeGitRepo, makeTestApp, querySql } from "./_setup.ts";

const day = 86_400_000;
describe("cleanup", () => {
  test("deletes sessions idle past SESSION_TTL with their tool sessions", async (t) => {
    const clock = makeClock();
    const app = await makeTestApp(t, { clock, environment: { SESSION_TTL: "30d" } });
    const idle = await app.sessions.create("alice");
    await app.toolSessions.getOrCreate(idle.id, "sequentialThinking", null);
    clock.advance(20 * day);
    const recent = await app.sessions.create("alice");
    clock.advance(10 * day + 1);

    const report = await app.cleanup();
    assert.deepEqual(report, { dryRun: false, expiredSessions: 1, excessSessions: 0, idleRepos: 0 });
    assert.equal(await app.sessions.get("alice", idle.id), undefined);
    assert.ok(await app.sessions.get("alice", recent.id));
    assert.deepEqual(await app.toolSessions.listForSession(idle.id), []);
  });

  test("a session used within SESSION_TTL survives", async (t) => {
    const clock = makeClock();
    const app = await makeTestApp(t, { clock, environment: { SESSION_TTL: "30d" } });
    const session = await app.sessions.create("alice");
    clock.advance(29 * day);
    await app.sessions.touch("alice", session.id);
    clock.advance(29 * day);
    assert.equal((await app.cleanup()).expiredSessions, 0);
    assert.ok(await app.sessions.get("alice", session.id));
  });

  test("keeps each user's MAX_SESSIONS_PER_USER most recently used sessions", async (t) => {
    const clock = makeClock();
    const app = await makeTestApp(t, { clock, environment: { MAX_SESSIONS_PER_USER: "3" } });
    const alice = [];
    for (let index = 0; index < 5; index++) {
      alice.push(await app.sessions.create("alice"));
      clock.advance(1000);
    }
    const bob = [await app.sessions.create("bob"), await app.sessions.create("bob")];
    await app.sessions.touch("alice", alice[0]?.id ?? ""); // the oldest becomes the most recent

    assert.equal((await app.cleanup()).excessSessions, 2);
    const remaining = (await app.sessions.list("alice")).sessions.map((session) => session.id);
    assert.deepEqual(remaining, [alice[0]?.id, alice[4]?.id, alice[3]?.id]);
    assert.equal((await app.sessions.list("bob")).sessions.length, bob.length);
  });

  test("a dry run counts what would go and changes nothing", async (t) => {
    const clock = makeClock(new Date());
    const app = await makeTestApp(t, {
      clock,
      environment: { SESSION_TTL: "10d", REPO_TTL: "7d", MAX_SESSIONS_PER_USER: "2" },
    });
    const source = await makeGitRepo(t, { "a.md": "a" });
    await app.repos.ensureRepo({ url: source.url });
    await app.sessions.create("alice"); // will expire
    clock.advance(5 * day);
    for (let index = 0; index < 3; index++) await app.sessions.create("alice"); // one beyond the limit
    clock.advance(6 * day);

    const dryRun = await app.cleanup({ dryRun: true });
    assert.deepEqual(dryRun, { dryRun: true, expiredSessions: 1, excessSessions: 1, idleRepos: 1 });
    assert.equal((await app.sessions.list("alice")).sessions.length, 4);
    assert.equal((await querySql(app, "SELECT * FROM repo_cache")).length, 1);

    const real = await app.cleanup();
    assert.deepEqual(real, { ...dryRun, dryRun: false });
    assert.equal((await app.sessions.list("alice")).sessions.length, 2);
  });

  test("removes repositories idle past REPO_TTL with their directories", async (t) => {
    const clock = makeClock(new Date());
    const app = await makeTestApp(t, { clock, environment: { REPO_TTL: "7d" } });
    const idleSource = await makeGitRepo(t, { "a.md": "a" });
    const usedSource = await makeGitRepo(t, { "b.md": "b" });
    const idle = await app.repos.ensureRepo({ url: idleSource.url });
    const used = await app.repos.ensureRepo({ url: usedSource.url });
    clock.advance(4 * day);
    await app.repos.ensureRepo({ url: usedSource.url });
    clock.advance(4 * day);

    assert.equal((await app.cleanup()).idleRepos, 1);
    assert.equal(await exists(idle.localPath), false);
    assert.equal(await exists(used.localPath), true);
    const keys = (await querySql(app, "SELECT resource_key FROM repo_cache")).map((row) => row.resource_key);
    assert.deepEqual(keys, [used.resourceKey]);
  });

  test("runs the deletion hooks for every session it removes", async (t) => {
    const clock = makeClock();
    const app = await makeTestApp(t, { clock, environment: { SESSION_TTL: "1d" } });
    const ids = [(await app.sessions.create("alice")).id, (await app.sessions.create("bob")).id];
    const deleted: string[] = [];
    app.memory.deleteThread = async (session) => {
      deleted.push(session.id);
    };
    clock.advance(2 * day);
    await app.cleanup();
    assert.deepEqual(deleted.sort(), ids.sort());
  });
});
