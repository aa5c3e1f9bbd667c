import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { describe, test } from "node:test";
import type { App } from "@session-bridge/server";
import { type ChatMessage, chatMetadata } from "@session-bridge/shared";
import { DefaultChatTransport, type UIMessageChunk } from "ai";
import { v7 as uuidv7 } from "uuid";
import { thoughtChunks } from "../fixtures/model-chunks.ts";
import { hostPrefix } from "../packages/server/src/turns/process-owner.ts";
import { testBackends } from "./_backends.ts";
import { callApi, scriptedModel, sendChat, sessionIdOf, startChatServer, userMessage } from "./_chat.ts";
import { eventually, holdCalls, makeShiftedClock, querySql } from "./_setup.ts";

const words = (count: number) => Array.from({ length: count }, (_, index) => `word${index}`).join(" ");
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Resolves once a running turn's chunk log holds `text` (by default: once its answer has begun),
 * whatever the machine's load.
 */
async function answerStreaming(app: App, text = "text-delta"): Promise<void> {
  for (let attempt = 0; attempt < 500; attempt++) {
    const [found] = await querySql(
      app,
      "SELECT count(*) AS n FROM turn_chunks JOIN turns ON turns.id = turn_chunks.turn_id WHERE turns.status = 'running' AND CAST(chunks AS TEXT) LIKE ?",
      [`%${text}%`],
    );
    if (Number(found?.n) > 0) return;
    await pause(10);
  }
  throw new Error("no turn started streaming");
}

/** Resumes with the AI SDK's own transport, as `useChat({ resume: true })` does. */
async function resume(url: string, chatId: string): Promise<UIMessageChunk[] | null> {
  const transport = new DefaultChatTransport({ api: `${url}/api/chat` });
  const stream = await transport.reconnectToStream({ chatId });
  if (!stream) return null;
  const chunks: UIMessageChunk[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return chunks;
}

const statusOf = (message: ChatMessage | undefined) => (message?.metadata as { status?: string } | undefined)?.status;
const textOf = (message: ChatMessage | undefined) =>
  message?.parts.map((part) => (part.type === "text" ? part.text : "")).join("") ?? "";

async function openSession(url: string, app: { turns: { settled(): Promise<void> } }) {
  const opening = await sendChat(url, { messages: [userMessage("open")] });
  await app.turns.settled();
  return sessionIdOf(opening.chunks);
}

for (const backend of testBackends()) {
  describe(`on ${backend}`, () => {
    describe("resumable streams", () => {
      test("clients resuming mid-stream by chat id or session id get exactly the parts the first client got", async (t) => {
        const { url, app } = await startChatServer(t, { backend, model: scriptedModel(["hi", words(60)], 15) });
        const sessionId = await openSession(url, app);
        const original = sendChat(url, { messages: [userMessage("a long one")], sessionId, chatId: "chat-42" });
        await answerStreaming(app);
        const byChatId = resume(url, "chat-42");
        await answerStreaming(app, '"word20 "'); // the second client joins a third of the way through
        const bySessionId = resume(url, sessionId);
        const [{ chunks }, first, second] = await Promise.all([original, byChatId, bySessionId]);
        assert.ok(chunks.length > 60);
        assert.deepEqual(first, chunks, "resumed by chat id");
        assert.deepEqual(second, chunks, "resumed by session id");
        await app.turns.settled();
        assert.equal(await resume(url, "chat-42"), null, "204 once the turn has ended");
        assert.equal(await resume(url, uuidv7()), null, "204 for an id with nothing running");
      });

      test("the chunk log is written in batches, not per token, and removed after its retention", async (t) => {
        const clock = makeShiftedClock();
        const { url, app } = await startChatServer(t, { backend, model: scriptedModel([words(200)]), clock });
        const { chunks } = await sendChat(url, { messages: [userMessage("batch me")] });
        await app.turns.settled();
        const [row] = await querySql(
          app,
          "SELECT count(*) AS batches, (SELECT count(*) FROM turns) AS turns FROM turn_chunks",
        );
        assert.equal(Number(row?.turns), 1);
        assert.ok(Number(row?.batches) >= 1 && Number(row?.batches) < chunks.length / 2, `${row?.batches} batches`);
        const [kept] = await querySql(app, "SELECT count(*) AS n FROM turn_chunks");
        assert.ok(Number(kept?.n) > 0, "kept for a while after the turn");
        clock.advance(61_000); // past the retention
        const report = await app.turns.maintain();
        assert.ok(report.chunkBatchesRemoved > 0);
        const [left] = await querySql(app, "SELECT count(*) AS n FROM turn_chunks");
        assert.equal(Number(left?.n), 0);
      });
    });

    describe("stop versus disconnect", () => {
      test("a client that disconnects mid-stream does not stop the turn: it completes and is saved", async (t) => {
        const answer = words(40);
        const { url, app } = await startChatServer(t, { backend, model: scriptedModel(["hi", answer], 15) });
        const sessionId = await openSession(url, app);
        const controller = new AbortController();
        const aborted = sendChat(url, {
          messages: [userMessage("go")],
          sessionId,
          abortSignal: controller.signal,
        }).catch((error: unknown) => error);
        await answerStreaming(app);
        controller.abort();
        await aborted;
        await app.turns.settled();
        const [, , , last] = await app.memory.listMessages(sessionId, "local");
        assert.equal(statusOf(last), "complete");
        assert.equal(textOf(last).trim(), answer);
      });

      test("a turn stopped before its answer began leaves the session free at once", async (t) => {
        const model = scriptedModel(["hi", "the next answer"]);
        const { url, app } = await startChatServer(t, { backend, model });
        const sessionId = await openSession(url, app);
        // Held in recall (before the model), then stopped.
        const recall = holdCalls(app.memory, "recall");
        const turn = sendChat(url, { messages: [userMessage("stop me early")], sessionId });
        assert.ok(
          await eventually(
            async () => (await querySql(app, "SELECT 1 FROM turns WHERE status = 'running'")).length > 0,
          ),
        );
        assert.equal((await callApi(url, "POST", `/api/sessions/${sessionId}/stop`)).status, 204);
        recall.release();
        await turn;
        await app.turns.settled();
        const [stopped] = await querySql(app, "SELECT status FROM turns ORDER BY started_at DESC LIMIT 1");
        assert.equal(stopped?.status, "stopped");
        const next = await sendChat(url, { messages: [userMessage("and now?")], sessionId });
        assert.equal(sessionIdOf(next.chunks), sessionId, "no session_busy");
        assert.equal(textOf(next.message).trim(), "the next answer");
        assert.equal(model.doStreamCalls.length, 2, "the stopped turn never reached the model");
      });

      test("POST stop ends generation and keeps the partial answer marked stopped", async (t) => {
        const { url, app } = await startChatServer(t, { backend, model: scriptedModel(["hi", words(80)], 15) });
        const sessionId = await openSession(url, app);
        const turn = sendChat(url, { messages: [userMessage("go")], sessionId });
        await answerStreaming(app);
        assert.equal((await callApi(url, "POST", `/api/sessions/${sessionId}/stop`)).status, 204);
        const { message } = await turn;
        await app.turns.settled();
        assert.equal(statusOf(message), "stopped");
        const stored = (await callApi(url, "GET", `/api/sessions/${sessionId}`)).body.messages as ChatMessage[];
        const last = stored.at(-1);
        assert.equal(statusOf(last), "stopped");
        const text = textOf(last);
        assert.ok(text.length > 0 && text.split(" ").length < 80, "a partial answer");
      });

      test("stop reaches a turn running in another server process on the same database", async (t) => {
        const first = await startChatServer(t, { backend, model: scriptedModel(["hi", words(150)], 15) });
        const second = await startChatServer(t, {
          backend,
          dataDir: first.dataDir,
          environment: first.environment,
          model: scriptedModel(["unused"]),
        });
        const sessionId = await openSession(first.url, first.app);
        const turn = sendChat(first.url, { messages: [userMessage("go")], sessionId });
        await answerStreaming(first.app);
        assert.equal((await callApi(second.url, "POST", `/api/sessions/${sessionId}/stop`)).status, 204);
        const { message } = await turn;
        assert.equal(statusOf(message), "stopped");
        assert.ok(textOf(message).split(" ").length < 150);
      });
    });

    describe("deleting a session mid-turn", () => {
      test("ends the running turn first, so nothing of it outlives the session", async (t) => {
        const { url, app } = await startChatServer(t, { backend, model: scriptedModel(["hi", words(100)], 15) });
        const sessionId = await openSession(url, app);
        const turn = sendChat(url, { messages: [userMessage("go")], sessionId }).catch((error: unknown) => error);
        await answerStreaming(app);
        assert.equal((await callApi(url, "DELETE", `/api/sessions/${sessionId}`)).status, 204);
        await turn;
        await app.turns.settled();
        const [left] = await querySql(
          app,
          "SELECT count(*) AS n FROM mastra_messages WHERE thread_id = ?",
          [sessionId],
          {
            memory: true,
          },
        );
        assert.equal(Number(left?.n), 0, "no messages left behind");
        const [turns] = await querySql(app, "SELECT count(*) AS n FROM turns WHERE session_id = ?", [sessionId]);
        assert.equal(Number(turns?.n), 0);
        assert.equal((await callApi(url, "GET", `/api/sessions/${sessionId}`)).status, 404);
      });
    });

    describe("crash-safe turns", () => {
      test("the user message is stored before data-session reaches the client; the running answer stays hidden", async (t) => {
        const { url, app } = await startChatServer(t, { backend, model: scriptedModel(["hi", words(60)], 15) });
        const sessionId = await openSession(url, app);
        const question = userMessage("saved at once");
        const response = await fetch(`${url}/api/chat`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ messages: [question], sessionId }),
        });
        const reader = (response.body as ReadableStream<Uint8Array>).getReader();
        let received = "";
        while (!received.includes("data-session")) received += new TextDecoder().decode((await reader.read()).value);
        const stored = await app.memory.listMessages(sessionId, "local");
        assert.ok(stored.some((message) => message.id === question.id));
        const shown = (await callApi(url, "GET", `/api/sessions/${sessionId}`)).body.messages as ChatMessage[];
        assert.equal(shown.at(-1)?.id, question.id, "no half-made answer in the restored conversation");
        await reader.cancel();
        await app.turns.settled();
      });

      test("each finished step is saved while the turn runs", async (t) => {
        const toolCall = thoughtChunks();
        const { url, app } = await startChatServer(t, {
          backend,
          model: scriptedModel(["hi", toolCall, words(100)], 20),
        });
        const sessionId = await openSession(url, app);
        const turn = sendChat(url, { messages: [userMessage("think")], sessionId });
        let saved: ChatMessage | undefined;
        for (let attempt = 0; attempt < 100 && !saved; attempt++) {
          await pause(20);
          // A running answer is stored as it would stand if its turn never finished, hidden until it does.
          saved = (await app.memory.listMessages(sessionId, "local", { includeRunning: true })).find(
            (message) => message.role === "assistant" && statusOf(message) === "interrupted",
          );
        }
        assert.ok(saved, "the first step was saved before the turn ended");
        assert.ok(saved.parts.some((part) => part.type === "tool-sequentialThinking"));
        // The list and the session agree on what is there: the running answer counts in neither.
        const listed = (await callApi(url, "GET", "/api/sessions")).body.sessions as {
          id: string;
          messageCount: number;
        }[];
        const shown = (await callApi(url, "GET", `/api/sessions/${sessionId}`)).body;
        assert.equal(
          listed.find((session) => session.id === sessionId)?.messageCount,
          (shown.messages as unknown[]).length,
        );
        assert.equal((shown.session as { messageCount: number }).messageCount, (shown.messages as unknown[]).length);
        await turn;
        await app.turns.settled();
        const last = (await app.memory.listMessages(sessionId, "local")).at(-1);
        assert.equal(statusOf(last), "complete");
        assert.equal(last?.id, saved.id, "the same message, finished");
      });

      test("retrying the user message of a dead turn replaces its partial answer: one answer, not two", async (t) => {
        const { url, app } = await startChatServer(t, { backend, model: scriptedModel(["hi", "the real answer"]) });
        const sessionId = await openSession(url, app);
        const { question } = await leaveDeadTurn(app, sessionId);
        const retry = await sendChat(url, { messages: [question], sessionId });
        assert.equal(textOf(retry.message).trim(), "the real answer");
        await app.turns.settled();
        const messages = await app.memory.listMessages(sessionId, "local");
        const afterQuestion = messages.slice(messages.findIndex((message) => message.id === question.id) + 1);
        assert.deepEqual(
          afterQuestion.map((message) => [message.role, statusOf(message)]),
          [["assistant", "complete"]],
        );
      });

      test("a turn whose process died is marked interrupted, its partial answer kept; the session works at once", async (t) => {
        const { url, app } = await startChatServer(t, { backend, model: scriptedModel(["hi", "after the crash"]) });
        const sessionId = await openSession(url, app);
        const { question, turnId } = await leaveDeadTurn(app, sessionId);

        const next = await sendChat(url, { messages: [userMessage("are you there?")], sessionId });
        assert.equal(sessionIdOf(next.chunks), sessionId, "no session_busy: the dead holder was recovered");
        await app.turns.settled();
        const messages = await app.memory.listMessages(sessionId, "local");
        const interrupted = messages.find((message) => message.id === "answer-1");
        assert.equal(statusOf(interrupted), "interrupted");
        assert.equal(textOf(interrupted), "half an ans");
        assert.equal(messages.filter((message) => message.id === question.id).length, 1);
        assert.equal((await app.storage.turns.get(turnId))?.status, "interrupted");
        const trace = await app.traces.listForSession(sessionId);
        assert.ok(trace.some((entry) => entry.id === turnId && entry.outcome === "interrupted"));

        // Retrying the interrupted user message runs the turn again, replacing the partial answer.
        const retry = await sendChat(url, { messages: [question], sessionId });
        await app.turns.settled();
        assert.equal(textOf(retry.message).trim(), "after the crash");
        const after = await app.memory.listMessages(sessionId, "local");
        assert.equal(after.filter((message) => message.id === "answer-1").length, 0, "the partial answer was replaced");
        assert.equal(after.filter((message) => message.id === question.id).length, 1, "stored once");
      });

      test("the answer is saved while the turn's end is written; finish waits for both", async (t) => {
        const model = scriptedModel(["hi", "the answer"]);
        const { url, app } = await startChatServer(t, { backend, model });
        const sessionId = await openSession(url, app);
        const save = app.memory.save.bind(app.memory);
        let release = () => {};
        const held = new Promise<void>((resolve) => {
          release = resolve;
        });
        let answerSaved = false;
        app.memory.save = async (request) => {
          if (request.messages[0]?.role !== "assistant" || request.running) return save(request);
          await held;
          await save(request);
          answerSaved = true;
        };
        let finished = false;
        const question = userMessage("and now?");
        const turn = sendChat(url, { messages: [question], sessionId }).finally(() => {
          finished = true;
        });
        const ended = async () => {
          const [row] = await querySql(app, "SELECT status FROM turns WHERE user_message_id = ?", [question.id]);
          return row?.status === "complete";
        };
        assert.ok(await eventually(ended), "the turn's end is written while its answer's save is held");
        await pause(50);
        assert.equal(finished, false, "no finish before the answer is saved");
        release();
        const { chunks } = await turn;
        assert.ok(answerSaved);
        assert.equal(chunks.at(-1)?.type, "finish");
        await app.turns.settled();
        const last = (await app.memory.listMessages(sessionId, "local")).at(-1);
        assert.equal(statusOf(last), "complete");
        assert.equal(textOf(last).trim(), "the answer");
      });

      test("a turn that ended but whose process died before its answer was saved: a retry replays it from the log", async (t) => {
        const model = scriptedModel(["hi", "the model again"]);
        const { url, app } = await startChatServer(t, { backend, model });
        const sessionId = await openSession(url, app);
        const { question } = await leaveEndedTurn(app, sessionId);
        const retry = await sendChat(url, { messages: [question], sessionId });
        assert.equal(textOf(retry.message), "half an answer, logged");
        assert.equal(model.doStreamCalls.length, 1, "the model was not called again");
        await app.turns.settled();
        const messages = await app.memory.listMessages(sessionId, "local");
        const afterQuestion = messages.slice(messages.findIndex((message) => message.id === question.id) + 1);
        assert.deepEqual(
          afterQuestion.map((message) => [message.id, statusOf(message), textOf(message)]),
          [["answer-1", "complete", "half an answer, logged"]],
        );
        assert.deepEqual((afterQuestion[0]?.metadata as { usage?: unknown } | undefined)?.usage, {
          inputTokens: 4,
          outputTokens: 5,
          totalTokens: 9,
        });
      });

      test("a new message after such a turn finds its answer saved first, in its place", async (t) => {
        const { url, app } = await startChatServer(t, { backend, model: scriptedModel(["hi", "next answer"]) });
        const sessionId = await openSession(url, app);
        const { question } = await leaveEndedTurn(app, sessionId);
        const next = userMessage("and then?");
        await sendChat(url, { messages: [next], sessionId });
        await app.turns.settled();
        const messages = await app.memory.listMessages(sessionId, "local");
        assert.deepEqual(
          messages.slice(-4).map((message) => [message.id, message.role]),
          [
            [question.id, "user"],
            ["answer-1", "assistant"],
            [next.id, "user"],
            [messages.at(-1)?.id, "assistant"],
          ],
        );
        assert.equal(textOf(messages.at(-1)).trim(), "next answer");
      });

      test("start-up saves the answer of an ended turn whose process died, once", async (t) => {
        const { url, app } = await startChatServer(t, { backend, model: scriptedModel(["hi"]) });
        const sessionId = await openSession(url, app);
        const { question, turnId } = await leaveEndedTurn(app, sessionId);
        const report = await app.turns.maintain();
        assert.equal(report.restored, 1);
        assert.equal(report.interrupted, 0);
        const messages = await app.memory.listMessages(sessionId, "local");
        assert.deepEqual(
          messages.slice(-2).map((message) => [message.id, statusOf(message)]),
          [
            [question.id, undefined],
            ["answer-1", "complete"],
          ],
        );
        assert.equal((await app.storage.turns.get(turnId))?.status, "complete");
        assert.equal((await app.turns.maintain()).restored, 0, "saved once");
      });

      test("an ended turn whose answer was replaced meanwhile is left alone", async (t) => {
        const { url, app } = await startChatServer(t, { backend, model: scriptedModel(["hi"]) });
        const sessionId = await openSession(url, app);
        const { question } = await leaveEndedTurn(app, sessionId);
        const other: ChatMessage = {
          id: "answer-2",
          role: "assistant",
          parts: [{ type: "text", text: "a regenerated answer" }],
          metadata: chatMetadata(sessionId, "local:demo", "complete", { inputTokens: 1, outputTokens: 1 }),
        };
        await app.memory.save({ sessionId, resourceId: "local", messages: [other], index: "later" });
        assert.equal((await app.turns.maintain()).restored, 0);
        const messages = await app.memory.listMessages(sessionId, "local");
        assert.deepEqual(
          messages.slice(-2).map((message) => message.id),
          [question.id, "answer-2"],
        );
      });

      test("an ended turn is not saved from its log when a newer turn of the session followed it", async (t) => {
        const model = scriptedModel(["hi", "asked again"]);
        const { url, app } = await startChatServer(t, { backend, model });
        const sessionId = await openSession(url, app);
        // Its answer was saved, then a regenerate deleted it and failed before saving anything.
        const { question } = await leaveEndedTurn(app, sessionId);
        await app.storage.turns.begin({
          id: uuidv7(),
          sessionId,
          resourceId: "local",
          chatId: null,
          userMessageId: question.id,
          assistantMessageId: "answer-2",
          model: "local:demo",
          leaseId: "regenerate-lease",
          owner: "elsewhere:1:x",
        });
        const [newer] = await querySql(app, "SELECT id FROM turns WHERE assistant_message_id = 'answer-2'");
        await app.storage.turns.end({ turnId: String(newer?.id), status: "failed" });
        assert.equal((await app.turns.maintain()).restored, 0);
        const retry = await sendChat(url, { messages: [question], sessionId });
        assert.equal(textOf(retry.message).trim(), "asked again", "the turn ran again");
        assert.equal(model.doStreamCalls.length, 2);
        await app.turns.settled();
        const ids = (await app.memory.listMessages(sessionId, "local")).map((message) => message.id);
        assert.ok(!ids.includes("answer-1"), "the replaced answer does not come back");
      });

      test("an ended turn whose log is not whole is not saved from it: stopped before its answer, or a batch missing", async (t) => {
        const model = scriptedModel(["hi", "asked again"]);
        const { url, app } = await startChatServer(t, { backend, model });
        const sessionId = await openSession(url, app);
        // Stopped before the model was called: the log holds `start` and `data-session`, no answer's end.
        const stopped = await leaveEndedTurn(app, sessionId, {
          status: "stopped",
          lastBatch: { seq: 1, chunks: [{ type: "text-end", id: "t" }] },
        });
        assert.equal((await app.turns.maintain()).restored, 0);
        const retry = await sendChat(url, { messages: [stopped.question], sessionId });
        assert.equal(textOf(retry.message).trim(), "asked again", "the turn ran again");
        await app.turns.settled();
        // A batch missing between the first and the last: nothing is made of the rest.
        const gap = await leaveEndedTurn(app, sessionId, {
          lastBatch: {
            seq: 2,
            chunks: [{ type: "finish", finishReason: "stop" }],
          },
        });
        assert.equal((await app.turns.maintain()).restored, 0);
        const messages = await app.memory.listMessages(sessionId, "local");
        assert.equal(messages.at(-1)?.id, gap.question.id, "nothing saved after the question");
      });

      test("while the ended turn's process may still be saving its answer the session is busy; then it is saved", async (t) => {
        const clock = makeShiftedClock();
        const { url, app } = await startChatServer(t, { backend, clock, model: scriptedModel(["hi", "next"]) });
        const sessionId = await openSession(url, app);
        // Ended a moment ago by a process on another machine (alive, for all this one can tell), its answer not saved yet.
        const { question } = await leaveEndedTurn(app, sessionId, { owner: "other-host:4242:x" });
        const busy = await fetch(`${url}/api/chat`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ sessionId, messages: [userMessage("too soon")] }),
        });
        assert.equal(busy.status, 409);
        assert.equal(((await busy.json()) as { error: { code: string } }).error.code, "session_busy");
        // The refused turn let go of the lease it had taken.
        assert.ok(await app.storage.sessions.acquireTurnLease("local", sessionId, "probe", 1_000));
        await app.storage.sessions.releaseTurnLease(sessionId, "probe");
        assert.equal((await app.turns.maintain()).restored, 0, "not while its process may be saving it");
        // A lease's time later, its process is taken to be done with it.
        clock.advance(31_000);
        const next = userMessage("and now?");
        await sendChat(url, { messages: [next], sessionId });
        await app.turns.settled();
        const messages = await app.memory.listMessages(sessionId, "local");
        assert.deepEqual(
          messages.slice(-4, -1).map((message) => message.id),
          [question.id, "answer-1", next.id],
        );
      });

      test("an answer saved from a real turn's chunk log is the answer its client got", async (t) => {
        const model = scriptedModel(["hi", thoughtChunks(), "the answer after a thought"]);
        const { url, app } = await startChatServer(t, { backend, model });
        const sessionId = await openSession(url, app);
        // The answer's save fails, and so does recording the turn failed: it stays complete, its log kept.
        const save = app.memory.save.bind(app.memory);
        app.memory.save = async (request) => {
          if (request.messages[0]?.role === "assistant" && !request.running) throw new Error("disk full");
          return save(request);
        };
        app.storage.turns.markFailed = async () => {
          throw new Error("disk full");
        };
        const question = userMessage("think first");
        const sent = await sendChat(url, { messages: [question], sessionId });
        await app.turns.settled();
        app.memory.save = save;
        assert.equal(sent.chunks.at(-2)?.type, "error");
        const [turn] = await querySql(app, "SELECT status FROM turns ORDER BY started_at DESC LIMIT 1");
        assert.equal(turn?.status, "complete");
        assert.equal((await app.turns.maintain()).restored, 0, "recovery leaves a live process's recent turn");
        // Its process is this one, done with it: a retry finds the answer saved at once, and replays it.
        const calls = model.doStreamCalls.length;
        const retry = await sendChat(url, { messages: [question], sessionId });
        assert.equal(retry.chunks.at(-1)?.type, "finish");
        assert.equal(model.doStreamCalls.length, calls, "replayed, not asked again");
        await app.turns.settled();
        const restored = (await app.memory.listMessages(sessionId, "local")).at(-1);
        assert.equal(restored?.id, sent.message?.id);
        assert.equal(statusOf(restored), "complete");
        assert.ok(restored?.parts.some((part) => part.type === "tool-sequentialThinking"));
        // As stored (JSON: the client's properties left undefined are not kept).
        assert.deepEqual(restored?.parts, JSON.parse(JSON.stringify(sent.message?.parts)));
      });

      test("a dead turn whose answer was saved in full keeps that answer, though its chunk log holds less", async (t) => {
        const { url, app } = await startChatServer(t, { backend, model: scriptedModel(["hi", "next"]) });
        const sessionId = await openSession(url, app);
        // The process saved the whole answer, then died (or could not write the turn's end,
        // which carries the log's last batch): the log has only the answer's start.
        const { turnId } = await leaveDeadTurn(app, sessionId);
        const whole: ChatMessage = {
          id: "answer-1",
          role: "assistant",
          parts: [{ type: "text", text: "half an answer, and then the rest of it" }],
          metadata: chatMetadata(sessionId, "local:demo", "complete", { inputTokens: 3, outputTokens: 9 }),
        };
        await app.memory.save({ sessionId, resourceId: "local", messages: [whole], index: "later" });

        await sendChat(url, { messages: [userMessage("are you there?")], sessionId });
        await app.turns.settled();
        assert.equal((await app.storage.turns.get(turnId))?.status, "interrupted");
        const kept = (await app.memory.listMessages(sessionId, "local")).find((message) => message.id === "answer-1");
        assert.equal(statusOf(kept), "complete");
        assert.equal(textOf(kept), "half an answer, and then the rest of it");
      });
    });
  });
}

/**
 * What a process that died between a turn's end and its answer's save leaves
 * (the two are written at once): the turn ended `complete`, its lease
 * released, its whole answer in the chunk log, none in memory.
 */
async function leaveEndedTurn(
  app: App,
  sessionId: string,
  options: {
    owner?: string;
    status?: "complete" | "stopped";
    lastBatch?: { seq: number; chunks: UIMessageChunk[] };
  } = {},
) {
  const { question, turnId } = await leaveDeadTurn(app, sessionId, options);
  const metadata = chatMetadata(sessionId, "local:demo", "complete", { inputTokens: 4, outputTokens: 5 });
  const lastBatch = options.lastBatch ?? {
    seq: 1,
    chunks: [
      { type: "text-delta", id: "t", delta: "wer, logged" },
      { type: "text-end", id: "t" },
      { type: "finish", finishReason: "stop", messageMetadata: metadata },
    ],
  };
  assert.ok(
    await app.storage.turns.end({
      turnId,
      status: options.status ?? "complete",
      lastBatch,
      lease: { sessionId, leaseId: "dead-lease" },
    }),
  );
  return { question, turnId };
}

/** What a process that died mid-turn leaves: a running turn, its held lease, its user message and a logged partial. */
async function leaveDeadTurn(app: App, sessionId: string, options: { owner?: string } = {}) {
  // A process that ran a turn and died: its pid is gone, its lease still looks valid.
  const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], {
    encoding: "utf8",
  });
  const owner = options.owner ?? `${hostPrefix}${dead.stdout}:x`;
  const turnId = uuidv7();
  const question = userMessage("asked before the crash");
  await app.memory.save({ sessionId, resourceId: "local", messages: [question], index: "later" });
  // Its lease, its turn and the start of its answer, as that process wrote them.
  assert.ok(await app.storage.sessions.acquireTurnLease("local", sessionId, "dead-lease", 30_000));
  await app.storage.turns.begin({
    id: turnId,
    sessionId,
    resourceId: "local",
    chatId: null,
    userMessageId: question.id,
    assistantMessageId: "answer-1",
    model: "local:demo",
    leaseId: "dead-lease",
    owner,
  });
  await app.storage.turns.append(turnId, 0, [
    { type: "start", messageId: "answer-1" },
    { type: "data-session", id: "session", data: { sessionId, resourceId: "local" } },
    { type: "text-start", id: "t" },
    { type: "text-delta", id: "t", delta: "half an ans" },
  ]);
  return { question, turnId };
}
