import assert from "node:assert/strict";
import { constants } from "node:fs";
import { access } from "node:fs/promises";
import { after, before, describe, type TestContext, test } from "node:test";
import type { LanguageModelV4StreamPart } from "@session-bridge/server";
import { MockLanguageModelV4 } from "ai/test";
import { type Browser, chromium, type Page } from "playwright-core";
import { toolCallChunks } from "../fixtures/model-chunks.ts";
import { postJson, scriptedModel, startChatServer, textChunks } from "./_chat.ts";

const noBrowser = "no chromium found: apt-get install chromium (or set CHROMIUM_PATH)";

/** Debian's chromium, `CHROMIUM_PATH`, or a browser playwright downloaded. */
async function findChromium(): Promise<string | undefined> {
  const candidates = [process.env.CHROMIUM_PATH, "/usr/bin/chromium", "/usr/bin/chromium-browser"];
  try {
    candidates.push(chromium.executablePath());
  } catch {
    // playwright has no browser of its own here
  }
  for (const candidate of candidates) {
    if (
      candidate &&
      (await access(candidate, constants.X_OK).then(
        () => true,
        () => false,
      ))
    )
      return candidate;
  }
  return undefined;
}

interface SessionJson {
  id: string;
  title: string;
  messageCount: number;
}

async function listSessions(url: string, token?: string): Promise<SessionJson[]> {
  const response = await fetch(`${url}/api/sessions`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  assert.equal(response.status, 200);
  return ((await response.json()) as { sessions: SessionJson[] }).sessions;
}

/** Waits for a condition the page or the server reaches on its own; fails with `message` after 10 s. */
async function waitUntil(check: () => Promise<boolean>, message: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(message);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * A model that streams `first`, then waits for `release()` before streaming `rest`.
 * Released after the test at the latest (before the server's own close, which waits for the turn).
 */
function gatedModel(t: TestContext, first: string, rest: string) {
  let release = () => {};
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  t.after(() => release());
  const chunks = textChunks(first + rest);
  const split = 2 + (first.match(/\S+\s*/g) ?? []).length;
  const model = new MockLanguageModelV4({
    doStream: async () => ({
      stream: new ReadableStream<LanguageModelV4StreamPart>({
        async start(controller) {
          for (const chunk of chunks.slice(0, split)) controller.enqueue(chunk);
          await gate;
          for (const chunk of chunks.slice(split)) controller.enqueue(chunk);
          controller.close();
        },
      }),
    }),
  });
  return { model, release: () => release() };
}

/** Sends `text` from the composer and waits until `answer` is shown and the composer is ready again. */
async function chat(page: Page, text: string, answer: string): Promise<void> {
  await page.getByLabel("Message").fill(text);
  await page.getByLabel("Message").press("Enter");
  await page.locator('[data-role="assistant"]', { hasText: answer }).waitFor();
  await page.getByRole("button", { name: "Send" }).waitFor();
}

/**
 * Page script: remembers each session whose delete button was clicked and
 * records it in `window.resurrected` if the sidebar ever shows it again.
 * A string, so the test runner's transform cannot add helpers the page lacks.
 */
const recordResurrections = `(() => {
  const deleted = new Set();
  window.resurrected = [];
  document.addEventListener("click", (event) => {
    const button = event.target.closest('button[aria-label^="Delete "]');
    const id = button?.closest("li[data-session-id]")?.dataset.sessionId;
    if (id) deleted.add(id);
  }, true);
  new MutationObserver(() => {
    for (const item of document.querySelectorAll("li[data-session-id]")) {
      if (deleted.has(item.dataset.sessionId)) window.resurrected.push(item.dataset.sessionId);
    }
  }).observe(document.body, { childList: true, subtree: true });
})()`;

const activeSessionId = (page: Page) => decodeURIComponent(new URL(page.url()).hash.slice(1));

describe("GET / (the playground)", () => {
  test("serves the page and its bundle publicly; other methods are 405", async (t) => {
    const { url } = await startChatServer(t, { model: scriptedModel(["ok"]), environment: { AUTH: "apikey" } });
    const page = await fetch(`${url}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
    assert.match(await page.text(), /<script type="module" src="\/playground\/app\.js"><\/script>/);
    const script = await fetch(`${url}/playground/app.js`);
    assert.match(script.headers.get("content-type") ?? "", /^text\/javascript/);
    assert.match(await script.text(), /\/api\/chat/);
    const styles = await fetch(`${url}/playground/app.css`);
    assert.match(styles.headers.get("content-type") ?? "", /^text\/css/);
    const post = await postJson(url, {}, { path: "/" });
    assert.deepEqual([post.status, post.body.error?.code], [405, "method_not_allowed"]);
  });
});

describe("the playground in a real browser", { timeout: 180_000 }, () => {
  let browser: Browser | undefined;
  before(async () => {
    const executablePath = await findChromium();
    if (!executablePath) return;
    // Chromium's sandbox cannot start as root (CI containers).
    const args = process.getuid?.() === 0 ? ["--no-sandbox"] : [];
    browser = await chromium.launch({ executablePath, args, headless: true, timeout: 30_000 });
  });
  after(() => browser?.close());

  /** A fresh browser context on the playground; uncaught page errors are collected for the test to check. */
  async function open(t: TestContext, url: string) {
    if (!browser) throw new Error("no browser");
    const context = await browser.newContext();
    t.after(() => context.close());
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const pageErrors: string[] = [];
    page.on("pageerror", (error) => pageErrors.push(error.message));
    await page.goto(`${url}/`);
    return { page, pageErrors };
  }

  const browserTest = (name: string, body: (t: TestContext) => Promise<void>) =>
    test(name, { timeout: 60_000 }, async (t) => {
      if (!browser) return t.skip(noBrowser);
      await body(t);
    });

  browserTest("sends a message and shows the answer while it streams", async (t) => {
    const gated = gatedModel(t, "Streaming ", "works end to end.");
    const { url, app } = await startChatServer(t, { model: gated.model });
    const { page, pageErrors } = await open(t, url);

    await page.getByLabel("Message").fill("Hello playground");
    await page.getByRole("button", { name: "Send" }).click();
    const answer = page.locator('[data-role="assistant"]');
    await answer.getByText("Streaming").waitFor();
    await page.getByRole("button", { name: "Stop" }).waitFor();
    assert.equal((await answer.textContent())?.includes("works end to end."), false, "the rest is not there yet");
    gated.release();
    await answer.getByText("Streaming works end to end.").waitFor();
    await page.getByRole("button", { name: "Send" }).waitFor();

    assert.equal(await page.locator('[data-role="user"] .text').textContent(), "Hello playground");
    assert.match((await answer.locator(".meta").textContent()) ?? "", /complete/);
    await app.turns.settled();
    const [session, ...others] = await listSessions(url);
    assert.deepEqual(others, []);
    assert.equal(session?.title, "Hello playground");
    assert.equal(session?.messageCount, 2);
    assert.equal(activeSessionId(page), session.id);
    const item = page.locator(`li[data-session-id="${session.id}"]`);
    assert.equal(await item.getAttribute("class"), "session active");
    assert.equal(await item.locator(".title").textContent(), "Hello playground");
    assert.deepEqual(pageErrors, []);
  });

  browserTest("a reload restores the conversation, tool calls included, and it goes on", async (t) => {
    const thought = { thought: "Plan the trip", thoughtNumber: 1, totalThoughts: 1, nextThoughtNeeded: false };
    const model = scriptedModel([
      toolCallChunks("sequentialThinking", thought),
      "I thought it through.",
      "Then we pack.",
    ]);
    const { url, app } = await startChatServer(t, { model });
    const { page, pageErrors } = await open(t, url);

    await chat(page, "Think about a trip", "I thought it through.");
    const tool = page.locator('[data-tool="sequentialThinking"]');
    await tool.getByText("done").waitFor();
    await app.turns.settled();
    const sessionId = activeSessionId(page);
    assert.notEqual(sessionId, "");

    await page.reload();
    await page.locator('[data-role="assistant"]', { hasText: "I thought it through." }).waitFor();
    assert.equal(await page.locator('[data-role="user"] .text').textContent(), "Think about a trip");
    assert.match((await tool.locator("summary").textContent()) ?? "", /sequentialThinking · done/);
    assert.match((await tool.textContent()) ?? "", /Plan the trip/);
    assert.equal(await page.locator(`li[data-session-id="${sessionId}"]`).getAttribute("class"), "session active");

    await chat(page, "And then?", "Then we pack.");
    await app.turns.settled();
    const sessions = await listSessions(url);
    assert.deepEqual(
      sessions.map((session) => [session.id, session.messageCount]),
      [[sessionId, 4]],
      "the turn after the reload went on in the same session",
    );
    assert.deepEqual(pageErrors, []);
  });

  browserTest("a reload while the answer streams picks the running turn up again", async (t) => {
    const gated = gatedModel(t, "Halfway ", "and finished.");
    const { url, app } = await startChatServer(t, { model: gated.model });
    const { page, pageErrors } = await open(t, url);
    await page.getByLabel("Message").fill("A long question");
    await page.getByLabel("Message").press("Enter");
    const answer = page.locator('[data-role="assistant"]');
    await answer.getByText("Halfway").waitFor();

    await page.reload();
    await answer.getByText("Halfway").waitFor();
    await page.getByRole("button", { name: "Stop" }).waitFor();
    gated.release();
    await answer.getByText("Halfway and finished.").waitFor();
    assert.equal(await answer.count(), 1, "the replayed stream fills the same assistant message");
    assert.equal(await page.locator('[data-role="user"]').count(), 1);
    await app.turns.settled();
    const sessions = await listSessions(url);
    assert.deepEqual(
      sessions.map((session) => [session.title, session.messageCount]),
      [["A long question", 2]],
    );
    assert.equal(gated.model.doStreamCalls.length, 1, "the turn ran once");
    assert.deepEqual(pageErrors, []);
  });

  browserTest("shows the memories a turn used in a recalled box", async (t) => {
    const { url } = await startChatServer(t, { model: scriptedModel(["Noted."]) });
    const memory = await postJson(
      url,
      { scope: "user", text: "The user prefers answers in French." },
      {
        path: "/api/memories",
      },
    );
    assert.equal(memory.status, 201);
    const { page, pageErrors } = await open(t, url);
    await chat(page, "Hello", "Noted.");
    const recall = page.locator('[data-role="assistant"] .recall');
    assert.match((await recall.locator("summary").textContent()) ?? "", /and 1 memory/);
    await recall.locator("summary").click();
    await recall.getByText("The user prefers answers in French.").waitFor();
    assert.deepEqual(pageErrors, []);
  });

  browserTest("renames a session from the sidebar", async (t) => {
    const { url, app } = await startChatServer(t, { model: scriptedModel(["Sure."]) });
    const { page, pageErrors } = await open(t, url);
    await chat(page, "Name me later", "Sure.");
    await app.turns.settled();
    const sessionId = activeSessionId(page);

    await page.getByRole("button", { name: "Rename Name me later" }).click();
    await page.getByLabel("Session title").fill("Trip plans");
    await page.getByLabel("Session title").press("Enter");
    const item = page.locator(`li[data-session-id="${sessionId}"] .title`);
    await item.getByText("Trip plans").waitFor();
    const stored = await fetch(`${url}/api/sessions/${sessionId}`);
    assert.equal(((await stored.json()) as { session: SessionJson }).session.title, "Trip plans");

    await page.reload();
    await item.getByText("Trip plans").waitFor();
    assert.deepEqual(pageErrors, []);
  });

  browserTest("deleting the active session starts a new chat that keeps working", async (t) => {
    const { url, app } = await startChatServer(t, { model: scriptedModel(["First answer.", "Second answer."]) });
    const { page, pageErrors } = await open(t, url);
    await chat(page, "Doomed chat", "First answer.");
    await app.turns.settled();
    const doomed = activeSessionId(page);

    const deleted = page.waitForResponse((response) => response.request().method() === "DELETE");
    await page.getByRole("button", { name: "Delete Doomed chat" }).click();
    assert.equal((await deleted).status(), 204);
    await page.locator(".empty").waitFor();
    assert.equal(await page.locator("[data-role]").count(), 0, "the conversation pane is empty");
    assert.equal(await page.locator(`li[data-session-id="${doomed}"]`).count(), 0);
    assert.equal(activeSessionId(page), "");
    assert.equal((await fetch(`${url}/api/sessions/${doomed}`)).status, 404);

    await chat(page, "Fresh start", "Second answer.");
    await app.turns.settled();
    const sessions = await listSessions(url);
    assert.deepEqual(
      sessions.map((session) => [session.title, session.messageCount]),
      [["Fresh start", 2]],
    );
    assert.notEqual(sessions[0]?.id, doomed);
    assert.equal(activeSessionId(page), sessions[0]?.id);
    assert.deepEqual(pageErrors, []);
  });

  browserTest("creates and deletes sessions quickly one after another", async (t) => {
    const model = scriptedModel(["Quick answer."]);
    const { url, app } = await startChatServer(t, { model });
    const { page, pageErrors } = await open(t, url);
    const sidebarItems = page.locator("li[data-session-id]");
    await page.evaluate(recordResurrections);

    // Create, delete at once, create the next: deleting the active one leaves a new chat.
    for (const name of ["one", "two", "three", "four"]) {
      await chat(page, `Quick ${name}`, "Quick answer.");
      await page.getByRole("button", { name: `Delete Quick ${name}` }).click();
    }

    // Three sessions, three deletes clicked back to back, and the session lists
    // they trigger answered newest first, as a slow network may.
    for (const name of ["a", "b", "c"]) {
      await page.getByRole("button", { name: "New chat" }).click();
      await chat(page, `Burst ${name}`, "Quick answer.");
    }
    await waitUntil(async () => (await sidebarItems.count()) === 3, "the sidebar lists the three burst sessions");
    const heldLists: (() => Promise<void>)[] = [];
    await page.route(/\/api\/sessions\?/, async (route) => {
      const response = await route.fetch();
      heldLists.push(() => route.fulfill({ response }));
    });
    for (const name of ["a", "b", "c"]) await page.getByRole("button", { name: `Delete Burst ${name}` }).click();
    await waitUntil(async () => heldLists.length === 3, "each delete refreshes the list");
    for (const deliver of heldLists.reverse()) await deliver();
    await page.unroute(/\/api\/sessions\?/);

    await waitUntil(async () => (await listSessions(url)).length === 0, "the server ends with no sessions");
    assert.equal(await sidebarItems.count(), 0);
    await chat(page, "After the storm", "Quick answer.");
    await app.turns.settled();
    const sessions = await listSessions(url);
    assert.deepEqual(
      sessions.map((session) => [session.title, session.messageCount]),
      [["After the storm", 2]],
    );
    assert.equal(await sidebarItems.count(), 1);
    assert.deepEqual(await page.evaluate("window.resurrected"), [], "no deleted session came back, not even briefly");
    assert.equal(model.doStreamCalls.length, 8, "every turn reached the model once");
    assert.equal(await page.getByRole("status").count(), 0, "no error notice");
    assert.deepEqual(pageErrors, []);
  });

  browserTest("asks for an API key when AUTH=apikey and chats as that user", async (t) => {
    const { url, app } = await startChatServer(t, {
      model: scriptedModel(["Hello, Alice."]),
      environment: { AUTH: "apikey" },
    });
    const alice = await app.users.create("alice");
    const { page, pageErrors } = await open(t, url);

    await page.getByLabel("API key").fill("sbk_wrong");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").getByText("That API key is not valid").waitFor();
    assert.equal(await page.getByLabel("Message").count(), 0, "no chat before signing in");

    await page.getByLabel("API key").fill(alice.apiKey);
    await page.getByRole("button", { name: "Sign in" }).click();
    await chat(page, "Secret hello", "Hello, Alice.");
    await app.turns.settled();
    const token = await postJson(url, { apiKey: alice.apiKey }, { path: "/api/auth/token" });
    const sessions = await listSessions(url, (token.body as unknown as { token: string }).token);
    assert.deepEqual(
      sessions.map((session) => [session.title, session.messageCount]),
      [["Secret hello", 2]],
    );

    await page.reload();
    await page.locator('[data-role="assistant"]', { hasText: "Hello, Alice." }).waitFor();
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("API key").waitFor();
    assert.deepEqual(pageErrors, []);
  });
});
