import assert from "node:assert/strict";
import { describe, type TestContext, test } from "node:test";
import type { MessageStore, StoredMessage } from "@session-bridge/core";
import { type ChatMessage, chatMetadata } from "@session-bridge/shared";
import { at, byTime, makeThread, seen, userMessage } from "./_messages.ts";
import type { StorageBackend } from "./backend.ts";

async function openMessages(backend: StorageBackend, t: TestContext) {
  const { memory } = await backend.open(t);
  return memory.messages;
}

/** The hits' neighbourhoods alone: a window of a session with no messages. */
const around = async (messages: MessageStore, resourceId: string, hits: string[], range: number) =>
  (await messages.recallWindow({ sessionId: "no-such-session", resourceId, last: 10, exclude: [], hits, range }))
    .around;

const texts = (stored: StoredMessage[]) =>
  stored.map(({ message }) => message.parts.map((part) => (part.type === "text" ? part.text : part.type)).join(""));

/** The {@link MessageStore} contract, pending rows aside (see `pending-messages.suite.ts`). */
export function describeMessageStore(backend: StorageBackend) {
  describe(`message store on ${backend.name}`, () => {
    test("gives back every message exactly as saved: whitespace, line breaks, NUL, lone surrogates, parts, metadata", async (t) => {
      const messages = await openMessages(backend, t);
      const thread = await makeThread(messages);
      const answer: ChatMessage = {
        id: "answer",
        role: "assistant",
        metadata: chatMetadata(thread.sessionId, "local:demo", "complete", { inputTokens: 3, outputTokens: 5 }),
        parts: [
          { type: "step-start" },
          {
            type: "data-recall",
            id: "recall-1",
            data: {
              recalled: [{ messageId: "m-1", sessionId: thread.sessionId, excerpt: "an earlier one", score: 0.5 }],
              memories: [],
            },
          },
          { type: "reasoning", text: "  thinking\r\n", state: "done" },
          {
            type: "tool-search_docs",
            toolCallId: "call-1",
            state: "output-available",
            input: { query: "retry" },
            output: { hits: 2, empty: "", none: null },
          },
          { type: "source-url", sourceId: "src-1", url: "https://example.com/a", title: "Example A" },
          { type: "file", mediaType: "text/plain", url: "data:text/plain;base64,aGk=", filename: "hi.txt" },
          { type: "text", text: "\r\n\r\n  exact\u0000 answer  ", state: "done" },
        ],
      };
      const sent: ChatMessage[] = [
        userMessage("spaces", "  "),
        userMessage("tab", "\t"),
        userMessage("newlines", "\r\n\r\nleading newlines"),
        userMessage("nul", "nul\u0000inside"),
        userMessage("surrogates", "\ud83d lone surrogates \udc00"),
        userMessage("scripts", "👩🏽‍💻 مرحبا 日本語 e\u0301"),
        userMessage("client/id with a slash", "ids are the client's"),
        answer,
      ];
      const stored = sent.map((message, index) => thread.stored(message, at(index)));
      await messages.save(stored, { pending: false, now: at(0) });
      const listed = await messages.list(thread.sessionId, "alice");
      assert.deepEqual(listed.map(seen), stored.map(seen));
      assert.deepEqual(
        listed.map((item) => item.message),
        sent,
      );
      // Counting, and the neighbours of a hit, read past any of that text (PostgreSQL's jsonb refuses NUL).
      assert.deepEqual(await messages.count([thread.sessionId]), new Map([[thread.sessionId, sent.length]]));
      assert.equal((await around(messages, "alice", [stored[3]?.key ?? ""], 1)).length, 3);
    });

    test("saving a message again replaces it and keeps its first time and place", async (t) => {
      const messages = await openMessages(backend, t);
      const thread = await makeThread(messages);
      const first = userMessage("first", "draft");
      await messages.save([thread.stored(first, at(1)), thread.stored(userMessage("second", "b"), at(2))], {
        pending: false,
        now: at(2),
      });
      const edited = { ...first, parts: [{ type: "text" as const, text: "final" }] };
      await messages.save([thread.stored(edited, at(5))], { pending: false, now: at(5) });
      const listed = await messages.list(thread.sessionId, "alice");
      assert.deepEqual(texts(listed), ["final", "b"]);
      assert.deepEqual(listed[0]?.createdAt, at(1));
    });

    test("the last n messages are the newest n, oldest first", async (t) => {
      const messages = await openMessages(backend, t);
      const thread = await makeThread(messages);
      const stored = [0, 1, 2, 3, 4].map((index) => thread.stored(userMessage(`m${index}`, `${index}`), at(index)));
      await messages.save(stored, { pending: false, now: at(4) });
      assert.deepEqual(texts(await messages.list(thread.sessionId, "alice", { last: 2 })), ["3", "4"]);
      assert.deepEqual(texts(await messages.list(thread.sessionId, "alice", { last: 10 })), ["0", "1", "2", "3", "4"]);
      assert.deepEqual(texts(await messages.list(thread.sessionId, "alice")), ["0", "1", "2", "3", "4"]);
    });

    test("a running answer is hidden from list, a recall window and count until saved again, but findWithNext sees it", async (t) => {
      const messages = await openMessages(backend, t);
      const thread = await makeThread(messages);
      const question = thread.stored(userMessage("question", "q"), at(1));
      const answer = thread.stored(userMessage("answer", "partial"), at(2), true);
      await messages.save([question], { pending: false, now: at(1) });
      await messages.save([answer], { pending: false, now: at(2) });
      assert.deepEqual(texts(await messages.list(thread.sessionId, "alice")), ["q"]);
      assert.deepEqual(texts(await messages.list(thread.sessionId, "alice", { last: 1 })), ["q"]);
      assert.deepEqual(texts(await around(messages, "alice", [question.key, answer.key], 2)), ["q"]);
      assert.deepEqual(await messages.count([thread.sessionId]), new Map([[thread.sessionId, 1]]));
      const withRunning = await messages.list(thread.sessionId, "alice", { includeRunning: true });
      assert.deepEqual(withRunning.map(seen), [seen(question), seen(answer)]);
      const found = await messages.findWithNext(thread.sessionId, "alice", "question");
      assert.equal(found?.next?.running, true);
      assert.deepEqual(found?.next?.message, answer.message);

      const complete = thread.stored(userMessage("answer", "complete"), at(3));
      await messages.save([complete], { pending: false, now: at(3) });
      const listed = await messages.list(thread.sessionId, "alice");
      assert.deepEqual(texts(listed), ["q", "complete"]);
      assert.equal(listed[1]?.running === true, false);
      assert.deepEqual(await messages.count([thread.sessionId]), new Map([[thread.sessionId, 2]]));
    });

    test("finds a message by client id with the one right after it, in its session and resource only", async (t) => {
      const messages = await openMessages(backend, t);
      const thread = await makeThread(messages);
      const other = await makeThread(messages);
      const a = thread.stored(userMessage("a", "a"), at(0));
      const b = thread.stored(userMessage("b", "b"), at(1));
      const c = thread.stored(userMessage("c", "c"), at(2));
      await messages.save([a, b, c], { pending: false, now: at(2) });
      const elsewhere = other.stored(userMessage("a", "other a"), at(0));
      await messages.save([elsewhere, other.stored(userMessage("z", "other z"), at(1))], {
        pending: false,
        now: at(1),
      });
      const found = await messages.findWithNext(thread.sessionId, "alice", "a");
      assert.deepEqual(found && [seen(found.message), found.next && seen(found.next)], [seen(a), seen(b)]);
      const last = await messages.findWithNext(thread.sessionId, "alice", "c");
      assert.deepEqual(last?.message.message, c.message);
      assert.equal(last?.next, undefined);
      const inOther = await messages.findWithNext(other.sessionId, "alice", "a");
      assert.deepEqual(inOther && [seen(inOther.message), inOther.next?.message.id], [seen(elsewhere), "z"]);
      assert.equal(await messages.findWithNext(thread.sessionId, "alice", "z"), undefined);
      assert.equal(await messages.findWithNext(thread.sessionId, "alice", "unknown"), undefined);
      assert.equal(await messages.findWithNext(thread.sessionId, "bob", "a"), undefined);
    });

    test("finds a message with the one after it and the session's newest visible message, in one read", async (t) => {
      const messages = await openMessages(backend, t);
      const thread = await makeThread(messages);
      const other = await makeThread(messages);
      const a = thread.stored(userMessage("a", "a"), at(0));
      const b = thread.stored(userMessage("b", "b"), at(1));
      const c = thread.stored(userMessage("c", "c"), at(2));
      await messages.save([a, b, c], { pending: false, now: at(2) });
      await messages.save([other.stored(userMessage("z", "other z"), at(5))], { pending: false, now: at(5) });
      const found = await messages.findWithNextAndLast(thread.sessionId, "alice", "a");
      assert.deepEqual(found.found && [seen(found.found.message), found.found.next && seen(found.found.next)], [
        seen(a),
        seen(b),
      ]);
      assert.deepEqual(found.last && seen(found.last), seen(c), "the newest of its own session");
      const unknown = await messages.findWithNextAndLast(thread.sessionId, "alice", "unknown");
      assert.equal(unknown.found, undefined);
      assert.deepEqual(unknown.last && seen(unknown.last), seen(c));
      // A running answer is not the newest visible message; findWithNext's part still sees it.
      const running = thread.stored(userMessage("answer", "partial"), at(3), true);
      await messages.save([running], { pending: false, now: at(3) });
      const withRunning = await messages.findWithNextAndLast(thread.sessionId, "alice", "c");
      assert.equal(withRunning.found?.next?.running, true);
      assert.deepEqual(withRunning.last && seen(withRunning.last), seen(c));
      assert.deepEqual(await messages.findWithNextAndLast(thread.sessionId, "bob", "a"), {
        found: undefined,
        last: undefined,
      });
      const empty = await makeThread(messages);
      assert.deepEqual(await messages.findWithNextAndLast(empty.sessionId, "alice", "a"), {
        found: undefined,
        last: undefined,
      });
    });

    test("gets messages by key from any session, leaving out unknown keys", async (t) => {
      const messages = await openMessages(backend, t);
      const [first, second] = [await makeThread(messages), await makeThread(messages, "bob")];
      const one = first.stored(userMessage("same", "first"), at(0));
      const two = second.stored(userMessage("same", "second"), at(1));
      await messages.save([one], { pending: false, now: at(0) });
      await messages.save([two], { pending: false, now: at(1) });
      const found = await messages.getByKeys([two.key, "no-such-key", one.key]);
      assert.deepEqual(
        found.map(seen).sort((x, y) => x.createdAt.getTime() - y.createdAt.getTime()),
        [seen(one), seen(two)],
      );
      assert.deepEqual(await messages.getByKeys([]), []);
    });

    test("finds each hit with its neighbours in its own session, each once, oldest first", async (t) => {
      const messages = await openMessages(backend, t);
      const [a, b] = [await makeThread(messages), await makeThread(messages)];
      // The two sessions' messages interleave in time: neighbours are by session, not by time.
      const inA = [0, 1, 2, 3, 4, 5, 6].map((index) => a.stored(userMessage(`m${index}`, `a${index}`), at(2 * index)));
      const inB = [0, 1, 2, 3, 4].map((index) => b.stored(userMessage(`m${index}`, `b${index}`), at(2 * index + 1)));
      await messages.save(inA, { pending: false, now: at(12) });
      await messages.save(inB, { pending: false, now: at(9) });
      const near = async (keys: (StoredMessage | undefined)[], range: number) =>
        texts(
          await around(
            messages,
            "alice",
            keys.map((item) => item?.key ?? ""),
            range,
          ),
        );
      assert.deepEqual(await near([inA[3], inB[1]], 1), ["b0", "b1", "a2", "b2", "a3", "a4"]);
      assert.deepEqual(await near([inA[2], inA[3]], 1), ["a1", "a2", "a3", "a4"]);
      assert.deepEqual(await near([inA[0]], 2), ["a0", "a1", "a2"]);
      assert.deepEqual(await near([inA[6]], 2), ["a4", "a5", "a6"]);
      assert.deepEqual(await near([inA[3]], 0), ["a3"]);
      assert.deepEqual(await around(messages, "alice", [], 2), []);
      const stored = await around(messages, "alice", [inB[4]?.key ?? ""], 1);
      assert.deepEqual(stored.map(seen), [inB[3], inB[4]].filter((item) => item !== undefined).map(seen));
    });

    test("a recall window: the session's newest visible messages outside the excluded, and the neighbours of the other hits", async (t) => {
      const messages = await openMessages(backend, t);
      const [current, earlier] = [await makeThread(messages), await makeThread(messages)];
      const old = [0, 1, 2, 3, 4].map((index) => earlier.stored(userMessage(`e${index}`, `e${index}`), at(index)));
      const now = [0, 1, 2, 3, 4, 5].map((index) =>
        current.stored(userMessage(`c${index}`, `c${index}`), at(10 + index)),
      );
      const running = current.stored(userMessage("answer", "partial"), at(20), true);
      await messages.save(old, { pending: false, now: at(4) });
      await messages.save(now, { pending: false, now: at(15) });
      await messages.save([running], { pending: false, now: at(20) });
      const key = (item: StoredMessage | undefined) => item?.key ?? "";
      const window = await messages.recallWindow({
        sessionId: current.sessionId,
        resourceId: "alice",
        last: 3,
        // The turn's own new message is neither recent nor recalled.
        exclude: [key(now[5])],
        // A hit among the newest brings nothing; an older hit of the same session brings its
        // neighbours but none of the newest; a hit elsewhere brings its own session's.
        hits: [key(now[3]), key(now[1]), key(old[2]), key(now[5])],
        range: 1,
      });
      assert.deepEqual(texts(window.last), ["c2", "c3", "c4"]);
      assert.deepEqual(texts(window.around), ["e1", "e2", "e3", "c0", "c1"]);
      // The hits may come later (recall asks while it still searches): the same window; a
      // search that fails fails the window.
      let found!: (keys: string[]) => void;
      const later = messages.recallWindow({
        sessionId: current.sessionId,
        resourceId: "alice",
        last: 3,
        exclude: [key(now[5])],
        hits: new Promise<string[]>((resolve) => {
          found = resolve;
        }),
        range: 1,
      });
      await new Promise((resolve) => setTimeout(resolve, 10));
      found([key(now[3]), key(now[1]), key(old[2]), key(now[5])]);
      assert.deepEqual(await later, window);
      await assert.rejects(
        messages.recallWindow({
          sessionId: current.sessionId,
          resourceId: "alice",
          last: 3,
          exclude: [],
          hits: Promise.reject(new Error("the search failed")),
          range: 1,
        }),
        /the search failed/,
      );
      const bobs = await messages.recallWindow({
        sessionId: current.sessionId,
        resourceId: "bob",
        last: 3,
        exclude: [],
        hits: [key(old[2])],
        range: 1,
      });
      assert.deepEqual(bobs, { last: [], around: [] });
    });

    test("two sessions sharing a client message id each come back with their own session", async (t) => {
      const messages = await openMessages(backend, t);
      const [first, second] = [await makeThread(messages), await makeThread(messages)];
      const one = first.stored(userMessage("shared-id", "in the first session"), at(1));
      const two = second.stored(userMessage("shared-id", "in the second session"), at(2));
      await messages.save([one], { pending: false, now: at(1) });
      await messages.save([two], { pending: false, now: at(2) });
      const found = await around(messages, "alice", [one.key, two.key], 0);
      assert.deepEqual(found.map(seen), [seen(one), seen(two)]);
      assert.deepEqual(texts(await messages.list(first.sessionId, "alice")), ["in the first session"]);
    });

    test("never reads another resource's messages", async (t) => {
      const messages = await openMessages(backend, t);
      const alices = await makeThread(messages, "alice");
      const bobs = await makeThread(messages, "bob");
      const secret = alices.stored(userMessage("secret", "alice's secret"), at(1));
      const own = bobs.stored(userMessage("own", "bob's own"), at(2));
      await messages.save([secret], { pending: false, now: at(1) });
      await messages.save([own], { pending: false, now: at(2) });
      assert.deepEqual(await messages.list(alices.sessionId, "bob"), []);
      assert.deepEqual(await messages.list(alices.sessionId, "bob", { includeRunning: true, last: 5 }), []);
      assert.deepEqual(await around(messages, "bob", [secret.key], 2), []);
      assert.deepEqual(texts(await around(messages, "bob", [secret.key, own.key], 2)), ["bob's own"]);
      assert.equal(await messages.findWithNext(alices.sessionId, "bob", "secret"), undefined);
    });

    test("counts the visible messages of each session, leaving out sessions with none", async (t) => {
      const messages = await openMessages(backend, t);
      const [a, b, empty] = [await makeThread(messages), await makeThread(messages, "bob"), await makeThread(messages)];
      await messages.save(
        [0, 1, 2].map((index) => a.stored(userMessage(`m${index}`, "x"), at(index))),
        { pending: false, now: at(2) },
      );
      await messages.save([a.stored(userMessage("running", "x"), at(3), true)], { pending: false, now: at(3) });
      await messages.save([b.stored(userMessage("m0", "x"), at(0))], { pending: false, now: at(0) });
      assert.deepEqual(
        await messages.count([a.sessionId, b.sessionId, empty.sessionId]),
        new Map([
          [a.sessionId, 3],
          [b.sessionId, 1],
        ]),
      );
      assert.deepEqual(await messages.count([]), new Map());
      // Any order, an unknown id between known ones, an id asked twice.
      assert.deepEqual(
        await messages.count([empty.sessionId, b.sessionId, "no-such-session", a.sessionId, b.sessionId]),
        new Map([
          [b.sessionId, 1],
          [a.sessionId, 3],
        ]),
      );
    });

    test("a session's count follows every save and delete: running answers, new versions, deleted messages", async (t) => {
      const messages = await openMessages(backend, t);
      const [a, b] = [await makeThread(messages), await makeThread(messages)];
      const countOf = async (thread: { sessionId: string }) =>
        (await messages.count([thread.sessionId])).get(thread.sessionId);
      await messages.save([a.stored(userMessage("q1", "x"), at(0)), a.stored(userMessage("q2", "x"), at(1))], {
        pending: false,
        now: at(1),
      });
      await messages.save([b.stored(userMessage("q1", "x"), at(0))], { pending: false, now: at(0) });
      assert.equal(await countOf(a), 2);
      await messages.save([a.stored(userMessage("answer", "step 1"), at(2), true)], { pending: false, now: at(2) });
      await messages.save([a.stored(userMessage("answer", "step 2"), at(2), true)], { pending: false, now: at(3) });
      assert.equal(await countOf(a), 2, "a running answer is not counted, however often it is saved");
      await messages.save([a.stored(userMessage("answer", "done"), at(2))], { pending: false, now: at(4) });
      assert.equal(await countOf(a), 3, "counted once it ends");
      await messages.save([a.stored(userMessage("answer", "done, edited"), at(2))], { pending: false, now: at(5) });
      await messages.save([a.stored(userMessage("q1", "x again"), at(0))], { pending: false, now: at(5) });
      assert.equal(await countOf(a), 3, "a new version of a message is the same message");
      await messages.save([a.stored(userMessage("late", "partial"), at(6), true)], { pending: false, now: at(6) });
      await messages.delete(a.sessionId, ["q2", "late", "unknown"]);
      assert.equal(await countOf(a), 2);
      assert.equal(await countOf(b), 1, "another session's count is its own");
      await messages.delete(a.sessionId, ["q1", "answer"]);
      assert.deepEqual(await messages.count([a.sessionId, b.sessionId]), new Map([[b.sessionId, 1]]));
      await messages.save([a.stored(userMessage("again", "x"), at(7))], { pending: false, now: at(7) });
      assert.equal(await countOf(a), 1);
      await messages.deleteSession(a.sessionId);
      assert.deepEqual(await messages.count([a.sessionId, b.sessionId]), new Map([[b.sessionId, 1]]));
    });

    test("searches the resource's messages by keyword: codes and file names as phrases, names in any case", async (t) => {
      const messages = await openMessages(backend, t);
      const [a, b, bobs] = [await makeThread(messages), await makeThread(messages), await makeThread(messages, "bob")];
      await messages.save(
        [
          a.stored(userMessage("crash", "The deploy failed with ERR_CONN_RESET yesterday"), at(0)),
          a.stored(userMessage("owner", "Priya owns config.yaml now"), at(1)),
          a.stored(userMessage("shuffled", "reset the conn, err on the side of caution"), at(2)),
          a.stored(userMessage("plain", "nothing to see"), at(3)),
        ],
        { pending: false, now: at(3) },
      );
      await messages.save([b.stored(userMessage("later", "ERR_CONN_RESET again, see JIRA-4521"), at(4))], {
        pending: false,
        now: at(4),
      });
      await messages.save([bobs.stored(userMessage("bobs", "bob saw ERR_CONN_RESET and config.yaml too"), at(5))], {
        pending: false,
        now: at(5),
      });
      const search = async (terms: string[], options: { sessionId?: string; exclude?: string[] } = {}) =>
        (await messages.searchText({ resourceId: "alice", terms, topK: 4, exclude: [], ...options }))
          .map((hit) => [hit.sessionId === a.sessionId ? "a" : hit.sessionId === b.sessionId ? "b" : "?", hit.key])
          .sort();
      const key = (thread: typeof a, id: string) => [
        thread === a ? "a" : "b",
        thread.stored(userMessage(id, ""), at(0)).key,
      ];
      assert.deepEqual(await search(["ERR_CONN_RESET"]), [key(a, "crash"), key(b, "later")].sort());
      assert.deepEqual(await search(["config.yaml"]), [key(a, "owner")]);
      assert.deepEqual(await search(["priya"]), [key(a, "owner")]);
      assert.deepEqual(await search(["JIRA-4521", "Priya"]), [key(a, "owner"), key(b, "later")].sort());
      assert.deepEqual(await search(["ERR_CONN_RESET"], { sessionId: b.sessionId }), [key(b, "later")]);
      assert.deepEqual(await search(["ERR_CONN_RESET"], { exclude: [key(b, "later")[1] as string] }), [
        key(a, "crash"),
      ]);
      assert.deepEqual(await search(["nowhere42"]), []);
      assert.deepEqual(await search([]), []);
      const bobsHits = await messages.searchText({ resourceId: "bob", terms: ["config.yaml"], topK: 4, exclude: [] });
      assert.deepEqual(
        bobsHits.map((hit) => hit.sessionId),
        [bobs.sessionId],
      );
    });

    test("a message of a mebibyte is saved whole and found by a keyword near its start", async (t) => {
      const messages = await openMessages(backend, t);
      const thread = await makeThread(messages);
      const text = `Incident INC-90210 notes: ${"word ".repeat(210_000)}`;
      const big = thread.stored(userMessage("big", text), at(0));
      await messages.save([big], { pending: false, now: at(0) });
      const [listed] = await messages.list(thread.sessionId, "alice");
      assert.equal(listed?.message.parts[0]?.type === "text" && listed.message.parts[0].text, text);
      const hits = await messages.searchText({ resourceId: "alice", terms: ["INC-90210"], topK: 4, exclude: [] });
      assert.deepEqual(
        hits.map((hit) => hit.key),
        [big.key],
      );
    });

    test("keyword search splits text at curly quotes, dashes, possessives and no-break spaces on every backend", async (t) => {
      const messages = await openMessages(backend, t);
      const thread = await makeThread(messages);
      const text =
        "I asked \u201cPriya\u201d yesterday: JIRA\u20134521 is Leena\u2019s,\u00a0see\u00a0flags.production.json";
      const message = thread.stored(userMessage("m", text), at(0));
      await messages.save([message], { pending: false, now: at(0) });
      for (const term of ["Priya", "JIRA-4521", "Leena", "flags.production.json", "see"]) {
        const hits = await messages.searchText({ resourceId: "alice", terms: [term], topK: 4, exclude: [] });
        assert.deepEqual(
          hits.map((hit) => hit.key),
          [message.key],
          term,
        );
      }
    });

    test("keyword search takes any text as terms: quotes and query operators are words, never syntax", async (t) => {
      const messages = await openMessages(backend, t);
      const thread = await makeThread(messages);
      await messages.save([thread.stored(userMessage("m", "NEAR the OR gate, NOT a * bug"), at(0))], {
        pending: false,
        now: at(0),
      });
      for (const term of [
        '"',
        'a"b',
        "NEAR/2",
        "OR",
        "*",
        "^x",
        "col:umn",
        "(x)",
        "\\",
        "-",
        "a&b|!c<->d",
        "x".repeat(1000),
      ]) {
        const hits = await messages.searchText({ resourceId: "alice", terms: [term], topK: 4, exclude: [] });
        assert.ok(Array.isArray(hits), term);
      }
      const hits = await messages.searchText({ resourceId: "alice", terms: ["NOT", "OR"], topK: 4, exclude: [] });
      assert.equal(hits.length, 1, "operators are searched as the words they are");
    });

    test("keyword search follows every save and delete: running answers, new versions, deleted messages", async (t) => {
      const messages = await openMessages(backend, t);
      const [a, b] = [await makeThread(messages), await makeThread(messages)];
      const found = async (term: string) =>
        (await messages.searchText({ resourceId: "alice", terms: [term], topK: 10, exclude: [] })).map(
          (hit) => hit.key,
        );
      const answer = a.stored(userMessage("answer", "step one mentions E1234"), at(1), true);
      await messages.save([answer], { pending: false, now: at(1) });
      assert.deepEqual(await found("E1234"), [], "a running answer is not searched");
      await messages.save([a.stored(userMessage("answer", "final: E5678 it was"), at(1))], {
        pending: false,
        now: at(2),
      });
      assert.deepEqual(await found("E1234"), []);
      assert.deepEqual(await found("E5678"), [answer.key], "the ended answer is searched by its last text");
      await messages.save([a.stored(userMessage("answer", "edited: E9999"), at(1))], { pending: false, now: at(3) });
      assert.deepEqual(await found("E5678"), []);
      assert.deepEqual(await found("E9999"), [answer.key]);
      const other = b.stored(userMessage("other", "E9999 here too"), at(4));
      await messages.save([other], { pending: false, now: at(4) });
      await messages.delete(a.sessionId, ["answer"]);
      assert.deepEqual(await found("E9999"), [other.key]);
      await messages.deleteSession(b.sessionId);
      assert.deepEqual(await found("E9999"), []);
    });

    test("a message nested too deep for SQL's JSON, or whose metadata says streaming, is saved, listed, counted", async (t) => {
      const messages = await openMessages(backend, t);
      const thread = await makeThread(messages);
      let deep: unknown = "bottom";
      for (let level = 0; level < 1200; level++) deep = { level: deep };
      const nested = {
        id: "deep",
        role: "assistant",
        parts: [{ type: "data-deep", data: deep }],
      } as unknown as ChatMessage;
      // A user message of the current format whose own metadata says "streaming" is not a running answer.
      const streaming: ChatMessage = { ...userMessage("status", "x"), metadata: { status: "streaming" } as never };
      const stored = [thread.stored(nested, at(0)), thread.stored(streaming, at(1))];
      await messages.save(stored, { pending: false, now: at(1) });
      // As JSON: assert's deep comparison runs out of stack 1,200 levels down.
      assert.equal(
        JSON.stringify((await messages.list(thread.sessionId, "alice")).map((item) => item.message)),
        JSON.stringify([nested, streaming]),
      );
      assert.deepEqual(await messages.count([thread.sessionId]), new Map([[thread.sessionId, 2]]));
    });

    test("deletes messages of one session by client id", async (t) => {
      const messages = await openMessages(backend, t);
      const [a, b] = [await makeThread(messages), await makeThread(messages)];
      await messages.save(
        ["m1", "m2", "m3"].map((id, index) => a.stored(userMessage(id, `a ${id}`), at(index))),
        { pending: false, now: at(2) },
      );
      await messages.save([b.stored(userMessage("m1", "b m1"), at(0))], { pending: false, now: at(0) });
      await messages.delete(a.sessionId, ["m1", "m3", "unknown"]);
      await messages.delete(a.sessionId, []);
      assert.deepEqual(texts(await messages.list(a.sessionId, "alice")), ["a m2"]);
      assert.deepEqual(texts(await messages.list(b.sessionId, "alice")), ["b m1"]);
    });

    test("deletes every message of a session and nothing else", async (t) => {
      const messages = await openMessages(backend, t);
      const [a, b] = [await makeThread(messages), await makeThread(messages)];
      const inA = [a.stored(userMessage("m1", "a1"), at(0)), a.stored(userMessage("m2", "a2"), at(1), true)];
      await messages.save(inA, { pending: false, now: at(1) });
      await messages.save([b.stored(userMessage("m1", "b1"), at(2))], { pending: false, now: at(2) });
      await messages.deleteSession(a.sessionId);
      assert.deepEqual(await messages.list(a.sessionId, "alice", { includeRunning: true }), []);
      assert.deepEqual(await messages.getByKeys(inA.map((stored) => stored.key)), []);
      assert.deepEqual(texts(await messages.list(b.sessionId, "alice")), ["b1"]);
      assert.equal(await messages.countAll(), 1);
      await messages.createThread({ id: a.sessionId, resourceId: "alice", title: "again", createdAt: at(3) });
    });

    test("registering a session's thread twice is harmless", async (t) => {
      const messages = await openMessages(backend, t);
      const thread = await makeThread(messages);
      await messages.createThread({ id: thread.sessionId, resourceId: "alice", title: "again", createdAt: at(1) });
      await messages.save([thread.stored(userMessage("m", "still here"), at(1))], { pending: false, now: at(1) });
      assert.deepEqual(texts(await messages.list(thread.sessionId, "alice")), ["still here"]);
    });

    test("scans every message of every session once, in (createdAt, key) order, and counts up to a position", async (t) => {
      const messages = await openMessages(backend, t);
      const [a, b] = [await makeThread(messages), await makeThread(messages, "bob")];
      const all = [
        ...[0, 1, 2, 3].map((index) => a.stored(userMessage(`m${index}`, `a${index}`), at(index))),
        // Ties in time with a's messages: the key orders them.
        ...[1, 2, 5].map((index) => b.stored(userMessage(`m${index}`, `b${index}`), at(index))),
      ];
      await messages.save(
        all.filter((stored) => stored.sessionId === a.sessionId),
        { pending: false, now: at(3) },
      );
      await messages.save(
        all.filter((stored) => stored.sessionId === b.sessionId),
        { pending: false, now: at(5) },
      );
      const scanned: StoredMessage[] = [];
      for (;;) {
        const last = scanned.at(-1);
        const page = await messages.scan({
          after: last ? { createdAt: last.createdAt, key: last.key } : null,
          limit: 2,
        });
        if (page.length === 0) break;
        assert.ok(page.length <= 2);
        scanned.push(...page);
      }
      assert.deepEqual(scanned.map(seen), [...all].sort(byTime).map(seen));
      assert.equal(await messages.countAll(), all.length);
      for (const [index, stored] of scanned.entries()) {
        assert.equal(await messages.countAll({ createdAt: stored.createdAt, key: stored.key }), index + 1);
      }
    });
  });
}
