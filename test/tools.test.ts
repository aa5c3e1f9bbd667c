import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { asSchema, type FlexibleSchema } from "ai";
import { repoResourceKey } from "../packages/server/src/storage/repo-input.ts";
import { createChatTools } from "../packages/server/src/tools/chat-tools.ts";
import { searchDocs } from "../packages/server/src/tools/search-docs.ts";
import { sequentialThinking } from "../packages/server/src/tools/sequential-thinking.ts";
import { makeGitRepo, makeTempDir, makeTestApp } from "./_setup.ts";

const thought = (thoughtNumber: number, text: string) => ({
  thought: text,
  thoughtNumber,
  totalThoughts: 3,
  nextThoughtNeeded: thoughtNumber < 3,
});

describe("tools with reusable tool sessions", () => {
  test("sequentialThinking continues the same history across turns and a restart", async (t) => {
    const dataDir = await makeTempDir(t);
    const first = await makeTestApp(t, { dataDir });
    const session = await first.sessions.create("alice");
    await sequentialThinking(first.toolSessions, session.id, thought(1, "list the options"));
    const second = await sequentialThinking(first.toolSessions, session.id, thought(2, "weigh them"));
    assert.equal(second.thoughtHistoryLength, 2);
    await first.close();

    const restarted = await makeTestApp(t, { dataDir });
    const third = await sequentialThinking(restarted.toolSessions, session.id, {
      ...thought(3, "pick one"),
      branchFromThought: 2,
      branchId: "alt",
    });
    assert.equal(third.thoughtHistoryLength, 3);
    assert.deepEqual(third.branches, ["alt"]);
    const toolSessions = await restarted.toolSessions.listForSession(session.id);
    assert.equal(toolSessions.length, 1);
    assert.equal(toolSessions[0]?.toolKey, null);
  });

  test("parallel thoughts in one turn are all kept", async (t) => {
    const app = await makeTestApp(t);
    const session = await app.sessions.create("alice");
    await Promise.all(
      [1, 2, 3].map((number) => sequentialThinking(app.toolSessions, session.id, thought(number, `t${number}`))),
    );
    const [toolSession] = await app.toolSessions.listForSession(session.id);
    assert.equal((toolSession?.state.thoughts as unknown[] | undefined)?.length, 3);
  });

  test("every turn's tools share their input schemas, converted to JSON Schema once, still checking input", async (t) => {
    const app = await makeTestApp(t);
    const dependencies = { toolSessions: app.toolSessions, repos: app.repos, gitTimeoutMs: 10_000 };
    const [first, second] = ["s1", "s2"].map((sessionId) => createChatTools(dependencies, sessionId, [], () => {}));
    const inputOf = (tools: typeof first, name: "search_docs" | "sequentialThinking") =>
      asSchema(tools?.[name].inputSchema as FlexibleSchema<unknown>);
    for (const name of ["search_docs", "sequentialThinking"] as const) {
      const [one, other] = [inputOf(first, name), inputOf(second, name)];
      // The same object: the AI SDK keeps a Schema's JSON Schema, so a turn does not convert it again.
      assert.equal(one, other, name);
      const converted = await one.jsonSchema;
      assert.equal(await other.jsonSchema, converted, name);
      assert.equal((converted as { type?: string }).type, "object", name);
    }
    const thinking = inputOf(first, "sequentialThinking");
    assert.equal((await thinking.validate?.(thought(1, "ok")))?.success, true);
    assert.equal((await thinking.validate?.({ thought: "no number" }))?.success, false);
  });

  test("search_docs greps a real repository and asking again shows the next hits", async (t) => {
    const app = await makeTestApp(t);
    const session = await app.sessions.create("alice");
    const lines = Array.from({ length: 15 }, (_, index) => `Retry policy ${index}: back off exponentially.`).join("\n");
    const source = await makeGitRepo(t, {
      "docs/retries.md": lines,
      "docs/other.md": "nothing here\n",
      "src/code.ts": "retry()\n",
    });
    const dependencies = { store: app.toolSessions, repos: app.repos, gitTimeoutMs: 10_000 };
    const input = { repo: source.url, path: "docs", query: "retry policy" };

    const first = await searchDocs(dependencies, session.id, input);
    assert.equal(first.total, 15);
    assert.equal(first.hits.length, 10);
    assert.equal(first.more, true);
    assert.deepEqual(first.hits[0], {
      file: "docs/retries.md",
      line: 1,
      snippet: "Retry policy 0: back off exponentially.",
    });
    assert.ok(
      first.hits.every((hit) => hit.file.startsWith("docs/")),
      "stays under path",
    );

    const second = await searchDocs(dependencies, session.id, input);
    assert.deepEqual(
      second.hits.map((hit) => hit.line),
      [11, 12, 13, 14, 15],
    );
    assert.equal(second.more, false);

    const [toolSession] = await app.toolSessions.listForSession(session.id);
    assert.equal(toolSession?.toolName, "search_docs");
    assert.equal(toolSession?.toolKey, repoResourceKey(source.url, null, "docs"));
  });

  test("search_docs refuses hostile repositories with a clear error", async (t) => {
    const app = await makeTestApp(t, { environment: { REPO_ALLOW_LOCAL: "false" } });
    const session = await app.sessions.create("alice");
    const dependencies = { store: app.toolSessions, repos: app.repos, gitTimeoutMs: 10_000 };
    await assert.rejects(searchDocs(dependencies, session.id, { repo: "ext::sh -c id", query: "x" }), {
      code: "invalid_repository",
    });
    assert.deepEqual(await app.toolSessions.listForSession(session.id), []);
  });
});
