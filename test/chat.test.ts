import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { messageText } from "@session-bridge/core";
import { simulateReadableStream } from "ai";
import { MockLanguageModelV4 } from "ai/test";
import { v7 as uuidv7 } from "uuid";
import { toolCallChunks } from "../fixtures/model-chunks.ts";
import { demoLabel, LocalDemoModel } from "../packages/server/src/models/local-demo-model.ts";
import { testBackends } from "./_backends.ts";
import {
  postJson,
  scriptedModel,
  sendChat,
  sendChatUntilAnswerBegins,
  sessionIdOf,
  startChatServer,
  textChunks,
  userMessage,
} from "./_chat.ts";

const uuidV7Pattern = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

for (const backend of testBackends()) {
  describe(`on ${backend}`, () => {
    describe("POST /api/chat", () => {
      test("streams data-session first, then the answer, with the server's assistant id and metadata", async (t) => {
        const { url, app } = await startChatServer(t, { backend, model: scriptedModel(["Hello there, friend."]) });
        const first = userMessage("Hi!");
        const { chunks, message } = await sendChat(url, { messages: [first] });
        assert.equal(chunks[0]?.type, "start");
        assert.deepEqual(chunks[1], {
          type: "data-session",
          id: "session",
          data: { sessionId: sessionIdOf(chunks), resourceId: "local" },
        });
        assert.match(sessionIdOf(chunks), uuidV7Pattern);
        const startId = (chunks[0] as { messageId?: string }).messageId ?? "";
        assert.match(startId, uuidV7Pattern);
        assert.equal(chunks.at(-1)?.type, "finish");
        assert.equal(message?.id, startId);
        assert.equal(message && messageText(message), "Hello there, friend.");
        const metadata = message?.metadata as {
          sessionId: string;
          status: string;
          model: string;
          usage: { totalTokens: number };
        };
        assert.equal(metadata.sessionId, sessionIdOf(chunks));
        assert.equal(metadata.status, "complete");
        assert.equal(metadata.model, "local:demo");
        assert.equal(metadata.usage.totalTokens, 15);

        await app.turns.settled();
        const stored = await app.memory.listMessages(sessionIdOf(chunks), "local");
        assert.deepEqual(
          stored.map((item) => [item.id, item.role]),
          [
            [first.id, "user"],
            [startId, "assistant"],
          ],
        );
        assert.equal((stored[1]?.metadata as { status?: string } | undefined)?.status, "complete");
        const [session] = (await app.sessions.list("local")).sessions;
        assert.equal(session?.title, "Hi!");
      });

      test("answers as a server-sent UI message stream with the protocol header", async (t) => {
        const { url, app } = await startChatServer(t, { backend, model: scriptedModel(["ok"]) });
        const response = await fetch(`${url}/api/chat`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ messages: [userMessage("hi")] }),
        });
        assert.equal(response.status, 200);
        assert.equal(response.headers.get("x-vercel-ai-ui-message-stream"), "v1");
        assert.match(response.headers.get("content-type") ?? "", /text\/event-stream/);
        const body = await response.text();
        assert.match(body, /^data: \{"type":"start"/);
        assert.match(body, /data: \[DONE\]/);
        await app.turns.settled();
      });

      test("the second turn sees the first from memory, though the client sends only the new message", async (t) => {
        const model = scriptedModel(["The capital is Canberra.", "You asked about Australia."]);
        const { url, app } = await startChatServer(t, { backend, model });
        const first = await sendChat(url, { messages: [userMessage("What is the capital of Australia?")] });
        const sessionId = sessionIdOf(first.chunks);
        await app.turns.settled();
        const second = await sendChat(url, { messages: [userMessage("What did I just ask?")], sessionId });
        assert.equal(sessionIdOf(second.chunks), sessionId);
        const prompt = JSON.stringify(model.doStreamCalls[1]?.prompt);
        assert.match(prompt, /capital of Australia/);
        assert.match(prompt, /The capital is Canberra/);
      });

      test("records a trace of every state, the recall and the usage", async (t) => {
        const { url, app } = await startChatServer(t, { backend, model: scriptedModel(["ok"]) });
        const { chunks } = await sendChat(url, { messages: [userMessage("trace me")] });
        await app.turns.settled();
        const response = await fetch(`${url}/api/sessions/${sessionIdOf(chunks)}/trace`);
        assert.equal(response.status, 200);
        const { turns } = (await response.json()) as {
          turns: { outcome: string; model: string; transitions: { state: string }[]; usage: unknown }[];
        };
        assert.equal(turns.length, 1);
        assert.equal(turns[0]?.outcome, "complete");
        assert.deepEqual(
          turns[0]?.transitions.map((transition) => transition.state),
          ["resolvingSession", "loadingToolSessions", "recallingMemory", "generating", "saving", "done"],
        );
        assert.deepEqual(turns[0]?.usage, { inputTokens: 11, outputTokens: 4 });
      });

      describe("session rules", () => {
        test("a malformed sessionId is 400, an unknown one 404, null starts a new session, upper case is the same id", async (t) => {
          const { url, app } = await startChatServer(t, { backend, model: scriptedModel(["ok"]) });
          const bad = await postJson(url, { messages: [userMessage("x")], sessionId: "not-a-uuid" });
          assert.deepEqual([bad.status, bad.body.error?.code], [400, "invalid_session_id"]);
          // A UUID of another version can never name a session: malformed, not unknown.
          const v4 = "0f8fad5b-d9cb-469f-a165-70867728950e";
          const notV7 = await postJson(url, { messages: [userMessage("x")], sessionId: v4 });
          assert.deepEqual([notV7.status, notV7.body.error?.code], [400, "invalid_session_id"]);
          const notV7Path = await fetch(`${url}/api/sessions/${v4}`);
          assert.equal(notV7Path.status, 400);
          assert.equal(((await notV7Path.json()) as { error: { code: string } }).error.code, "invalid_session_id");
          const unknown = await postJson(url, { messages: [userMessage("x")], sessionId: uuidv7() });
          assert.deepEqual([unknown.status, unknown.body.error?.code], [404, "session_not_found"]);
          assert.deepEqual((await app.sessions.list("local")).sessions, [], "nothing was created");

          const created = await sendChat(url, { messages: [userMessage("x")], sessionId: null });
          const sessionId = sessionIdOf(created.chunks);
          await app.turns.settled();
          const again = await sendChat(url, { messages: [userMessage("y")], sessionId: sessionId.toUpperCase() });
          assert.equal(sessionIdOf(again.chunks), sessionId);
        });

        test("a deleted session is 404 like one that never existed", async (t) => {
          const { url, app } = await startChatServer(t, { backend, model: scriptedModel(["ok"]) });
          const { chunks } = await sendChat(url, { messages: [userMessage("x")] });
          await app.turns.settled();
          await app.sessions.delete("local", sessionIdOf(chunks));
          const after = await postJson(url, { messages: [userMessage("x")], sessionId: sessionIdOf(chunks) });
          const never = await postJson(url, { messages: [userMessage("x")], sessionId: uuidv7() });
          assert.equal(after.status, 404);
          assert.equal(after.status, never.status);
          assert.deepEqual(after.body.error?.code, never.body.error?.code);
        });

        test("a second turn while one runs is 409 session_busy", async (t) => {
          const { url, app } = await startChatServer(t, {
            backend,
            model: scriptedModel(["one two three four five six"], 60),
          });
          const { chunks } = await sendChat(url, { messages: [userMessage("first")] });
          await app.turns.settled();
          const sessionId = sessionIdOf(chunks);
          const slow = await sendChatUntilAnswerBegins(url, { messages: [userMessage("slow one")], sessionId });
          const busy = await postJson(url, { messages: [userMessage("too soon")], sessionId });
          assert.deepEqual([busy.status, busy.body.error?.code], [409, "session_busy"]);
          await slow.finished;
        });

        const badBodies: [string, unknown, string][] = [
          ["invalid JSON", "{nope", "invalid_json"],
          ["no messages", { messages: [] }, "invalid_request"],
          ["empty parts", { messages: [{ id: "m", role: "user", parts: [] }] }, "invalid_request"],
          [
            "an unknown part type",
            { messages: [{ id: "m", role: "user", parts: [{ type: "bogus" }] }] },
            "invalid_request",
          ],
          [
            "a file part with an http URL",
            {
              messages: [
                {
                  id: "m",
                  role: "user",
                  parts: [{ type: "file", mediaType: "image/png", url: "https://example.com/a.png" }],
                },
              ],
            },
            "unsupported_file_url",
          ],
        ];
        for (const [name, body, code] of badBodies) {
          test(`${name} is a 400 ${code} and stores nothing`, async (t) => {
            const { url, app } = await startChatServer(t, { backend, model: scriptedModel(["ok"]) });
            const response = await postJson(url, body);
            assert.deepEqual([response.status, response.body.error?.code], [400, code]);
            assert.deepEqual((await app.sessions.list("local")).sessions, []);
          });
        }
      });

      test("a model that throws mid-stream ends the stream with a safe error part and a failed trace", async (t) => {
        const model = new MockLanguageModelV4({
          doStream: async () => ({
            stream: simulateReadableStream({
              chunks: [
                ...textChunks("partial answer").slice(0, 3),
                { type: "error" as const, error: new Error("upstream secret token sk-123 exploded") },
              ],
            }),
          }),
        });
        const { url, app } = await startChatServer(t, { backend, model });
        const { chunks } = await sendChat(url, { messages: [userMessage("boom")] });
        const errors = chunks.filter((chunk) => chunk.type === "error");
        assert.equal(errors.length, 1);
        assert.doesNotMatch(JSON.stringify(errors), /sk-123/);
        await app.turns.settled();
        const [trace] = await app.traces.listForSession(sessionIdOf(chunks));
        assert.equal(trace?.outcome, "failed");
        assert.equal(trace?.transitions.at(-1)?.state, "failed");
      });

      test("a client that disconnects mid-stream does not lose the turn", async (t) => {
        const answer = Array.from({ length: 30 }, (_, index) => `word${index}`).join(" ");
        const { url, app } = await startChatServer(t, { backend, model: scriptedModel([answer], 20) });
        const controller = new AbortController();
        const message = userMessage("tell me a long story");
        // Read until the session part arrives, then go away.
        const response = await fetch(`${url}/api/chat`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ messages: [message] }),
          signal: controller.signal,
        });
        const reader = response.body?.getReader();
        const decoder = new TextDecoder();
        let text = "";
        while (!text.includes("data-session")) text += decoder.decode((await reader?.read())?.value);
        const sessionId = /"sessionId":"([^"]+)"/.exec(text)?.[1] ?? "";
        controller.abort();
        await app.turns.settled();
        const stored = await app.memory.listMessages(sessionId, "local");
        assert.equal(stored.length, 2);
        assert.equal(stored[1] && messageText(stored[1]), answer);
      });

      test("stop ends generation and saves the partial answer as stopped", async (t) => {
        const answer = Array.from({ length: 40 }, (_, index) => `w${index}`).join(" ");
        const { url, app } = await startChatServer(t, { backend, model: scriptedModel([answer], 30) });
        const response = await fetch(`${url}/api/chat`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ messages: [userMessage("go on")] }),
        });
        const reader = (response.body as ReadableStream<Uint8Array>).getReader();
        const decoder = new TextDecoder();
        let text = "";
        // Stop once the answer has begun.
        while (!text.includes("text-delta")) text += decoder.decode((await reader.read()).value);
        const sessionId = /"sessionId":"([^"]+)"/.exec(text)?.[1] ?? "";
        const stop = await fetch(`${url}/api/sessions/${sessionId}/stop`, { method: "POST" });
        assert.equal(stop.status, 204);
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          text += decoder.decode(value);
        }
        assert.match(text, /"type":"message-metadata","messageMetadata":\{[^}]*"status":"stopped"/);
        await app.turns.settled();
        const stored = await app.memory.listMessages(sessionId, "local");
        const saved = stored[1];
        assert.equal((saved?.metadata as { status?: string } | undefined)?.status, "stopped");
        const savedText = saved ? messageText(saved) : "";
        assert.ok(savedText.length > 0 && savedText.length < answer.length, savedText);
      });
    });

    describe("the offline demo model and tools", () => {
      test("answers labelled as the demo, showing what memory recalled", async (t) => {
        const { url, app } = await startChatServer(t, { backend, model: new LocalDemoModel({ delayMs: 0 }) as never });
        await sendChat(url, { messages: [userMessage("My favourite colour is teal.")] });
        await app.turns.settled();
        const { message } = await sendChat(url, { messages: [userMessage("Which colour do I like best?")] });
        const text = message ? messageText(message) : "";
        assert.ok(text.startsWith(demoLabel), text);
        assert.match(text, /Memory recalled \d+ earlier messages?, the first: .*My favourite colour is teal/);
      });

      test("/think calls sequentialThinking, whose history continues across turns and a restart", async (t) => {
        const first = await startChatServer(t, { backend, model: new LocalDemoModel({ delayMs: 0 }) as never });
        const one = await sendChat(first.url, { messages: [userMessage("/think first idea")] });
        const sessionId = sessionIdOf(one.chunks);
        const toolPart = one.message?.parts.find((part) => part.type === "tool-sequentialThinking") as
          | { state: string; output: { thoughtHistoryLength: number } }
          | undefined;
        assert.equal(toolPart?.state, "output-available");
        assert.equal(toolPart?.output.thoughtHistoryLength, 1);
        await first.app.turns.settled();
        await sendChat(first.url, { messages: [userMessage("/think second idea")], sessionId });
        await first.app.turns.settled();
        await first.app.close();

        const restarted = await startChatServer(t, {
          backend,
          dataDir: first.dataDir,
          environment: first.environment,
          model: new LocalDemoModel({ delayMs: 0 }) as never,
        });
        const three = await sendChat(restarted.url, { messages: [userMessage("/think third idea")], sessionId });
        const output = three.message?.parts.find((part) => part.type === "tool-sequentialThinking") as
          | { output: { thoughtHistoryLength: number } }
          | undefined;
        assert.equal(output?.output.thoughtHistoryLength, 3);
        const toolSessions = await restarted.app.toolSessions.listForSession(sessionId);
        assert.equal(toolSessions.length, 1);
      });

      test("a tool error becomes a tool result the model sees, not a crashed turn", async (t) => {
        const { url, app } = await startChatServer(t, {
          backend,
          model: new LocalDemoModel({ delayMs: 0 }) as never,
          environment: { REPO_ALLOW_LOCAL: "false" },
        });
        const { message, chunks } = await sendChat(url, { messages: [userMessage("/search ext::sh-c-id anything")] });
        const toolPart = message?.parts.find((part) => part.type === "tool-search_docs") as
          | { state: string; errorText: string }
          | undefined;
        assert.equal(toolPart?.state, "output-error");
        assert.match(toolPart?.errorText ?? "", /https/);
        assert.equal(chunks.filter((chunk) => chunk.type === "error").length, 0);
        await app.turns.settled();
        const [trace] = await app.traces.listForSession(sessionIdOf(chunks));
        assert.equal(trace?.outcome, "complete");
        assert.equal(trace?.toolCalls[0]?.toolName, "search_docs");
        assert.ok(trace?.toolCalls[0]?.error);
      });
    });

    describe("tool input", () => {
      test("a tool call with invalid input is a tool error the model sees, and the turn completes", async (t) => {
        const toolCall = toolCallChunks("sequentialThinking", { thought: 42 });
        const model = scriptedModel([toolCall, "Sorry, let me fix that."]);
        const { url, app } = await startChatServer(t, { backend, model });
        const { message, chunks } = await sendChat(url, { messages: [userMessage("think about it")] });
        const part = message?.parts.find((item) => item.type === "tool-sequentialThinking") as
          | { state: string }
          | undefined;
        assert.match(part?.state ?? "", /error/);
        assert.equal(message && messageText(message), "Sorry, let me fix that.");
        assert.equal(chunks.filter((chunk) => chunk.type === "error").length, 0);
        const secondPrompt = JSON.stringify(model.doStreamCalls[1]?.prompt);
        assert.match(secondPrompt, /tool-result|error/i, "the model saw the failure");
        await app.turns.settled();
        const sessionId = sessionIdOf(chunks);
        assert.deepEqual(await app.toolSessions.listForSession(sessionId), [], "invalid input never reached the tool");
      });
    });
  });
}
