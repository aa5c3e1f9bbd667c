import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { buildTurnContext, messageText } from "@session-bridge/core";
import { defineEmbedder } from "@session-bridge/server";
import { type ChatMessage, chatMetadata } from "@session-bridge/shared";
import { v7 as uuidv7 } from "uuid";
import { createMemoryBridge } from "../packages/server/src/memory/memory-bridge.ts";
import { makeTempDir, makeTestApp, querySql, sharedEmbedder } from "./_setup.ts";

const user = (text: string, id = uuidv7()): ChatMessage => ({ id, role: "user", parts: [{ type: "text", text }] });
const assistant = (text: string, id = uuidv7()): ChatMessage => ({
  id,
  role: "assistant",
  parts: [{ type: "text", text }],
});

async function count(app: Awaited<ReturnType<typeof makeTestApp>>, sql: string, args: string[] = []) {
  const [row] = await querySql(app, sql, args, { memory: true });
  return Number(row?.count ?? 0);
}

/** The shared embedder, recording every text it is asked to embed. */
async function countingEmbedder() {
  const real = await sharedEmbedder();
  const embedded: string[] = [];
  const embedder = defineEmbedder({
    id: real.id,
    dimension: real.dimension,
    maxEmbeddingsPerCall: 32,
    embed: async (texts) => {
      embedded.push(...texts);
      return real.embed(texts);
    },
  });
  return { embedder, embedded };
}

const fillers = [
  "Let's talk about the weather this weekend.",
  "Can you suggest a good pasta recipe?",
  "What is the capital of Australia?",
  "How many legs does a spider have?",
  "Recommend a science fiction novel.",
  "What time zone is Tokyo in?",
  "Explain how a rainbow forms.",
  "Which planet is closest to the sun?",
  "Give me a synonym for happy.",
  "How do I boil an egg?",
];

describe("memory bridge", () => {
  test("recall finds a paraphrase of a message from 50 turns back", async (t) => {
    const app = await makeTestApp(t);
    const session = await app.sessions.create("alice");
    const important = user("Our production database password rotation happens every 90 days on the first Monday.");
    const history: ChatMessage[] = [important, assistant("Noted: rotation every 90 days.")];
    for (let turn = 0; turn < 50; turn++) {
      history.push(user(`${fillers[turn % fillers.length]} (${turn})`), assistant(`Answer number ${turn}.`));
    }
    await app.memory.save({ sessionId: session.id, resourceId: "alice", messages: history });

    const recall = await app.memory.recall({
      sessionId: session.id,
      resourceId: "alice",
      query: "How often do we change the credentials for the prod DB?",
    });
    assert.equal(recall.recent.length, 10);
    assert.ok(!recall.recent.some((message) => message.id === important.id), "it is not among the last messages");
    const hit = recall.recalled.find((item) => item.message.id === important.id);
    assert.ok(hit, `recalled: ${recall.recalled.map((item) => messageText(item.message)).join(" | ")}`);
    assert.deepEqual(hit.foundBy, ["vector"]);
    assert.equal(hit.sessionId, session.id);
    assert.ok(hit.score > 0.3);
    // ±2 neighbours come along, marked as context rather than hits.
    assert.ok(recall.recalled.some((item) => item.foundBy.length === 0));
  });

  test("the keyword channel finds a message by its ticket number where meaning alone does not, and says so", async (t) => {
    const app = await makeTestApp(t);
    const older = await app.sessions.create("alice");
    // The number is one word of a long message about other things: its meaning is elsewhere.
    const fact = user(
      "Notes from the retro: the onboarding docs need a rewrite, the CI runners are flaky on Mondays, the coffee budget is spent, two new hires start in May, and staging password rotation is tracked in 7731.",
    );
    const decisions = [
      "We decided to move the release to Friday.",
      "The team decided to drop the legacy API next quarter.",
      "We agreed that the decision on hiring can wait until Monday.",
      "Decision: the offsite happens in Lisbon.",
      "We decided against switching cloud providers.",
      "The final decision was to keep the old logo.",
      "We decided the budget review moves to March.",
      "What did we decide about the office plants? Keep them.",
    ];
    await app.memory.save({
      sessionId: older.id,
      resourceId: "alice",
      messages: [fact, ...decisions.flatMap((text) => [user(text), assistant("Noted.")])],
    });
    const asking = await app.sessions.create("alice");
    const question = { sessionId: asking.id, resourceId: "alice", query: "What did we decide about 7731?" };

    const vectorOnly = await createMemoryBridge({
      messages: app.memoryStorage.messages,
      vectors: app.memoryStorage.vectors,
      embedder: app.embedder,
      memories: app.memories,
      clock: app.clock,
      logger: app.logger,
      keywordChannel: false,
    });
    const byMeaning = await vectorOnly.recall(question);
    assert.ok(
      !byMeaning.recalled.some((item) => item.message.id === fact.id && item.foundBy.length > 0),
      "the premise: the vector channel alone does not find it",
    );

    const recall = await app.memory.recall(question);
    const hit = recall.recalled.find((item) => item.message.id === fact.id);
    assert.ok(hit, `recalled: ${recall.recalled.map((item) => messageText(item.message)).join(" | ")}`);
    assert.deepEqual(hit.foundBy, ["keyword"]);
    assert.equal(hit.sessionId, older.id);
    assert.ok(hit.score > -1 && hit.score <= 1 && hit.score !== 0, "scored like the others: cosine to the question");
    // Every other hit came from the vector channel; three of them stay.
    const hits = recall.recalled.filter((item) => item.foundBy.length > 0);
    assert.equal(hits.length, 4);
    assert.equal(hits.filter((item) => item.foundBy.includes("vector")).length, 3);
  });

  test("recall whose embedding fails rejects with the embedder's error, its memories read (failing too) left handled", async (t) => {
    const app = await makeTestApp(t);
    const session = await app.sessions.create("alice");
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    t.after(() => process.off("unhandledRejection", onUnhandled));
    const failing = await createMemoryBridge({
      messages: app.memoryStorage.messages,
      vectors: app.memoryStorage.vectors,
      embedder: { ...app.embedder, embed: async () => Promise.reject(new Error("embedder down")) },
      memories: { ...app.memories, forSession: async () => Promise.reject(new Error("memories down")) },
      clock: app.clock,
      logger: app.logger,
    });
    await assert.rejects(
      failing.recall({ sessionId: session.id, resourceId: "alice", query: "anything" }),
      /embedder down/,
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.deepEqual(unhandled, []);
  });

  test("recall leaves out the asking session's newest messages in both channels: they never take a hit's place", async (t) => {
    const app = await makeTestApp(t);
    const older = await app.sessions.create("alice");
    const fact = user("We fixed the login outage in 7731 by rotating the session signing key.");
    await app.memory.save({
      sessionId: older.id,
      resourceId: "alice",
      messages: [fact, ...fillers.map((text) => user(text))],
    });
    const asking = await app.sessions.create("alice");
    await app.memory.save({
      sessionId: asking.id,
      resourceId: "alice",
      messages: ["7731 again?", "yes, 7731", "still 7731", "ok 7731"].map((text) => user(text)),
    });
    const recall = await app.memory.recall({
      sessionId: asking.id,
      resourceId: "alice",
      query: "how did we fix the login outage in 7731?",
    });
    const hits = recall.recalled.filter((item) => item.foundBy.length > 0);
    assert.ok(
      hits.some((item) => item.message.id === fact.id && item.foundBy.includes("keyword")),
      `hits: ${hits.map((item) => messageText(item.message)).join(" | ")}`,
    );
    assert.equal(hits.length, 4, "four hits, none of them lost to the session's own messages");
    assert.ok(hits.every((item) => item.sessionId === older.id));
  });

  test("recent history is the last 10 messages, oldest first, leaving out excluded ids", async (t) => {
    const app = await makeTestApp(t);
    const session = await app.sessions.create("alice");
    const messages = Array.from({ length: 14 }, (_, index) => (index % 2 ? assistant : user)(`message ${index}`));
    await app.memory.save({ sessionId: session.id, resourceId: "alice", messages, index: "later" });
    const recall = await app.memory.recall({ sessionId: session.id, resourceId: "alice", query: "" });
    assert.deepEqual(recall.recent.map(messageText), messages.slice(4).map(messageText));
    const excluding = await app.memory.recall({
      sessionId: session.id,
      resourceId: "alice",
      query: "",
      excludeMessageIds: [messages[13]?.id ?? ""],
    });
    assert.deepEqual(excluding.recent.map(messageText), messages.slice(3, 13).map(messageText));
  });

  test("user scope recalls across the user's sessions; session scope stays in one", async (t) => {
    const app = await makeTestApp(t);
    const first = await app.sessions.create("alice");
    const second = await app.sessions.create("alice");
    const fact = user("My cat is named Pixel and she loves tuna.");
    await app.memory.save({ sessionId: first.id, resourceId: "alice", messages: [fact] });
    const query = "What is the name of my pet cat?";
    const acrossSessions = await app.memory.recall({ sessionId: second.id, resourceId: "alice", query });
    const found = acrossSessions.recalled.find((item) => item.message.id === fact.id);
    assert.equal(found?.sessionId, first.id);
    const sessionOnly = await app.memory.recall({ sessionId: second.id, resourceId: "alice", query, scope: "session" });
    assert.deepEqual(sessionOnly.recalled, []);
  });

  test("one user's recall never returns another user's messages or memories, even for their exact text", async (t) => {
    const app = await makeTestApp(t);
    const aliceSession = await app.sessions.create("alice");
    const bobSession = await app.sessions.create("bob");
    const secret = "Alice's launch code is tangerine-42 and nobody else may know it.";
    await app.memory.save({ sessionId: aliceSession.id, resourceId: "alice", messages: [user(secret)] });
    await app.memories.add("alice", { scope: "user", text: "Alice prefers metric units" });
    for (const scope of ["user", "session"] as const) {
      const recall = await app.memory.recall({ sessionId: bobSession.id, resourceId: "bob", query: secret, scope });
      assert.deepEqual(recall.recalled, []);
      assert.deepEqual(recall.recent, []);
      assert.deepEqual(recall.memories, []);
    }
    // Naming Alice's session does not help Bob either.
    const probe = await app.memory.recall({ sessionId: aliceSession.id, resourceId: "bob", query: secret });
    assert.deepEqual([probe.recent, probe.recalled, probe.memories], [[], [], []]);
    assert.deepEqual(await app.memory.listMessages(aliceSession.id, "bob"), []);
  });

  test("the same message id in another session or user never touches the first one", async (t) => {
    const app = await makeTestApp(t);
    const alice = await app.sessions.create("alice");
    const bob = await app.sessions.create("bob");
    await app.memory.save({ sessionId: alice.id, resourceId: "alice", messages: [user("original", "same-id")] });
    await app.memory.save({ sessionId: bob.id, resourceId: "bob", messages: [user("overwrite attempt", "same-id")] });
    const [aliceMessage] = await app.memory.listMessages(alice.id, "alice");
    assert.equal(aliceMessage?.id, "same-id");
    assert.equal(aliceMessage && messageText(aliceMessage), "original");
  });

  test("saving the same message id again stores one message and one vector", async (t) => {
    const app = await makeTestApp(t);
    const session = await app.sessions.create("alice");
    const message = user("Remember that the staging cluster lives in eu-west-1.");
    for (let attempt = 0; attempt < 3; attempt++) {
      await app.memory.save({ sessionId: session.id, resourceId: "alice", messages: [message] });
    }
    const stored = await app.memory.listMessages(session.id, "alice");
    assert.deepEqual(
      stored.map((item) => item.id),
      [message.id],
    );
    assert.deepEqual(stored[0]?.parts, message.parts);
    assert.equal(await count(app, `SELECT count(*) AS count FROM ${app.memory.index.indexName}`), 1);
  });

  test("embeds the user message once per turn: the recall query's vector is reused when saving", async (t) => {
    const { embedder: counting, embedded } = await countingEmbedder();
    const app = await makeTestApp(t, { embedder: counting });
    const session = await app.sessions.create("alice");
    const message = user("Which regions does our CDN cover?");
    await app.memory.recall({ sessionId: session.id, resourceId: "alice", query: messageText(message) });
    await app.memory.save({ sessionId: session.id, resourceId: "alice", messages: [message] });
    assert.deepEqual(embedded, [messageText(message)]);
  });

  test("messages saved for later indexing are searchable after indexPending, and survive a restart", async (t) => {
    const dataDir = await makeTempDir(t);
    const app = await makeTestApp(t, { dataDir });
    const session = await app.sessions.create("alice");
    const message = assistant("The quarterly report is due on March 31st.");
    await app.memory.save({ sessionId: session.id, resourceId: "alice", messages: [message], index: "later" });
    assert.equal(await count(app, `SELECT count(*) AS count FROM ${app.memory.index.indexName}`), 0);
    await app.close();

    const restarted = await makeTestApp(t, { dataDir });
    assert.equal(await restarted.memory.indexPending(), 1);
    assert.equal(await count(restarted, `SELECT count(*) AS count FROM ${restarted.memory.index.indexName}`), 1);
    assert.equal(await count(restarted, "SELECT count(*) AS count FROM session_bridge_pending_vectors"), 0);
    const other = await restarted.sessions.create("alice");
    const recall = await restarted.memory.recall({
      sessionId: other.id,
      resourceId: "alice",
      query: "When is the quarterly report due?",
    });
    assert.ok(recall.recalled.some((item) => item.message.id === message.id));
  });

  test("many turns asking for the pending work at once embed each pending message once", async (t) => {
    const { embedder: counting, embedded } = await countingEmbedder();
    const app = await makeTestApp(t, { embedder: counting });
    const answers = Array.from({ length: 12 }, (_, index) => assistant(`Answer number ${index} about the roadmap.`));
    const sessions = await Promise.all(answers.map(() => app.sessions.create("alice")));
    // Each "turn" saves its answer for later and asks for the pending work, as turns do after `finish`.
    await Promise.all(
      answers.map(async (answer, index) => {
        const sessionId = sessions[index]?.id ?? "";
        await app.memory.save({ sessionId, resourceId: "alice", messages: [answer], index: "later" });
        await app.memory.indexPending();
      }),
    );
    assert.deepEqual(embedded.toSorted(), answers.map(messageText).toSorted());
    assert.equal(await count(app, `SELECT count(*) AS count FROM ${app.memory.index.indexName}`), 12);
    assert.equal(await count(app, "SELECT count(*) AS count FROM session_bridge_pending_vectors"), 0);
  });

  test("deleting a session deletes its thread, messages, vectors, memories and pending work", async (t) => {
    const app = await makeTestApp(t);
    const session = await app.sessions.create("alice");
    const keep = await app.sessions.create("alice");
    await app.memory.save({
      sessionId: session.id,
      resourceId: "alice",
      messages: [user("delete me"), assistant("ok")],
    });
    await app.memory.save({ sessionId: session.id, resourceId: "alice", messages: [user("pending")], index: "later" });
    await app.memory.save({ sessionId: keep.id, resourceId: "alice", messages: [user("keep me")] });
    await app.memories.add("alice", { scope: "session", sessionId: session.id, text: "no commits" });
    const index = app.memory.index.indexName;
    assert.equal(
      await count(app, `SELECT count(*) AS count FROM ${index} WHERE json_extract(metadata, '$."thread_id"') = ?`, [
        session.id,
      ]),
      2,
    );

    assert.equal(await app.sessions.delete("alice", session.id), true);
    assert.equal(
      await count(app, "SELECT count(*) AS count FROM mastra_messages WHERE thread_id = ?", [session.id]),
      0,
    );
    assert.equal(await count(app, "SELECT count(*) AS count FROM mastra_threads WHERE id = ?", [session.id]), 0);
    assert.equal(
      await count(app, `SELECT count(*) AS count FROM ${index} WHERE json_extract(metadata, '$."thread_id"') = ?`, [
        session.id,
      ]),
      0,
    );
    assert.equal(
      await count(app, `SELECT count(*) AS count FROM ${index} WHERE metadata LIKE ?`, [`%${session.id}%`]),
      0,
    );
    assert.equal(await count(app, "SELECT count(*) AS count FROM session_bridge_pending_vectors"), 0);
    assert.deepEqual(await app.memories.list("alice"), []);
    assert.equal(await count(app, "SELECT count(*) AS count FROM mastra_messages WHERE thread_id = ?", [keep.id]), 1);
    assert.equal(await count(app, `SELECT count(*) AS count FROM ${index}`), 1);
  });

  test("creating a session creates its memory thread", async (t) => {
    const app = await makeTestApp(t);
    const session = await app.sessions.create("alice");
    assert.equal(
      await count(app, "SELECT count(*) AS count FROM mastra_threads WHERE id = ? AND resourceId = ?", [
        session.id,
        "alice",
      ]),
      1,
    );
  });

  test("restores a conversation with tool calls as UI messages", async (t) => {
    const app = await makeTestApp(t);
    const session = await app.sessions.create("alice");
    const answer: ChatMessage = {
      id: uuidv7(),
      role: "assistant",
      metadata: chatMetadata(session.id, "local:demo", "complete", { inputTokens: 1, outputTokens: 1 }),
      parts: [
        { type: "step-start" },
        {
          type: "tool-search_docs",
          toolCallId: "call-1",
          state: "output-available",
          input: { query: "retry" },
          output: { hits: 2 },
        },
        { type: "text", text: "Found two places." },
      ],
    };
    await app.memory.save({ sessionId: session.id, resourceId: "alice", messages: [user("search retry"), answer] });
    const [, restored] = await app.memory.listMessages(session.id, "alice");
    assert.equal(restored?.id, answer.id);
    assert.deepEqual(restored?.metadata, answer.metadata);
    assert.deepEqual(
      restored?.parts.map((part) => part.type),
      ["step-start", "tool-search_docs", "text"],
    );
    assert.deepEqual(restored?.parts[1], answer.parts[1]);
  });
});

// The memory store itself is specified by test/storage/memories.suite.ts.
describe("memories", () => {
  test("user memories reach every session, session memories one, and both reach the model's context", async (t) => {
    const app = await makeTestApp(t);
    const first = await app.sessions.create("alice");
    const second = await app.sessions.create("alice");
    await app.memories.add("alice", { scope: "user", text: "Always call me Chris" });
    await app.memories.add("alice", { scope: "session", sessionId: first.id, text: "No commits during this task" });
    const newMessage = user("hello");

    const inFirst = await app.memory.recall({ sessionId: first.id, resourceId: "alice", query: "hello" });
    const context = buildTurnContext(inFirst, newMessage, first.id);
    assert.match(context.system ?? "", /Always call me Chris/);
    assert.match(context.system ?? "", /No commits during this task/);
    assert.deepEqual(context.messages.at(-1), newMessage);

    const inSecond = await app.memory.recall({ sessionId: second.id, resourceId: "alice", query: "hello" });
    const secondContext = buildTurnContext(inSecond, newMessage, second.id);
    assert.match(secondContext.system ?? "", /Always call me Chris/);
    assert.doesNotMatch(secondContext.system ?? "", /No commits/);
  });
});
