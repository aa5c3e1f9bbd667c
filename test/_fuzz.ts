// The fuzz suite's world (a server, its users, Alice's data), its raw HTTP client, and the checks every
// request must pass (~500 lines: one module, since the checks read the same tables the world sets up).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import type { TestContext } from "node:test";
import type { Client } from "@libsql/client";
import type { App } from "@session-bridge/server";
import type { MockLanguageModelV4 } from "ai/test";
import type fc from "fast-check";
import { callApi, postJson, scriptedModel, sendChat, sessionIdOf, startChatServer, userMessage } from "./_chat.ts";

/** The suite reads the libSQL files directly (row counts and hashes of every table). */
function libsqlOf(app: App): { app: Client; memory: Client } {
  if (!app.database || !app.memoryDatabase) throw new Error("the fuzz suite runs on libSQL");
  return { app: app.database.client, memory: app.memoryDatabase.client };
}

/** `FUZZ_SEED` when set (to replay a failure), else one derived from the clock; fast-check's seeds are 32-bit. */
export const fuzzSeed = readSeed(process.env.FUZZ_SEED);

function readSeed(raw: string | undefined): number {
  if (raw === undefined || raw === "") return Date.now() % 0x7fffffff;
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed)) throw new Error(`FUZZ_SEED must be an integer, not ${JSON.stringify(raw)}`);
  return seed;
}

/** A whole number from the environment, `fallback` when unset. */
function wholeNumberFromEnv(name: string, fallback: number, minimum = 0): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < minimum) {
    throw new Error(`${name} must be a whole number of at least ${minimum}, not ${JSON.stringify(raw)}`);
  }
  return value;
}

/** fast-check's parameters for one property: the shared seed, `runs` unless `FUZZ_RUNS` says otherwise. */
export function fuzzParameters<T>(runs: number): fc.Parameters<T> {
  return { seed: fuzzSeed, numRuns: wholeNumberFromEnv("FUZZ_RUNS", runs, 1) };
}

/**
 * Wraps a property's body so that shrinking stays bounded: after the first
 * failing run, at most `FUZZ_SHRINKS` (default 40) more runs are made, for at
 * most `FUZZ_SHRINK_MS` (default 8 s); later candidates pass untested, so
 * fast-check reports the smallest failure found by then. Every run costs real
 * requests, often a whole chat turn, and shrinking a long string can otherwise
 * ask for hundreds of them.
 */
export function boundedShrinking(): (run: () => Promise<void>) => Promise<void> {
  const budget = wholeNumberFromEnv("FUZZ_SHRINKS", 40);
  const budgetMs = wholeNumberFromEnv("FUZZ_SHRINK_MS", 8_000);
  let failedAt: number | undefined;
  let shrinkRuns = 0;
  return async (run) => {
    if (failedAt !== undefined && (++shrinkRuns > budget || performance.now() - failedAt > budgetMs)) return;
    try {
      await run();
    } catch (error) {
      failedAt ??= performance.now();
      throw error;
    }
  };
}

export interface FuzzUser {
  id: string;
  apiKey: string;
  token: string;
}

/**
 * One server (`AUTH=apikey`) with two users. Alice owns sessions, messages and
 * memories and never acts during a property: her ids are the hostile ids Bob
 * sends, and her data must never change. Bob is the fuzzer.
 */
export interface FuzzWorld {
  app: App & { logLines: Record<string, unknown>[] };
  url: string;
  model: MockLanguageModelV4;
  alice: FuzzUser & {
    sessionIds: string[];
    memoryIds: string[];
    messageIds: string[];
    chatId: string;
    /** A cursor from Alice's session list, for Bob to page with. */
    cursor: string;
  };
  bob: FuzzUser & { sessionId: string };
  /** Everything of Alice's as the app's stores show it, taken once she is set up. */
  aliceData: unknown;
}

export async function makeFuzzWorld(t: TestContext): Promise<FuzzWorld> {
  const model = scriptedModel(["Noted: ' OR 1=1 -- stays text."]);
  const { app, url } = await startChatServer(t, { model, environment: { AUTH: "apikey" } });
  const login = async (name: string): Promise<FuzzUser> => {
    const created = await app.users.create(name);
    const answer = await postJson(url, { apiKey: created.apiKey }, { path: "/api/auth/token" });
    assert.equal(answer.status, 200, `${name} gets a token`);
    return { id: created.user.id, apiKey: created.apiKey, token: (answer.body as unknown as { token: string }).token };
  };
  const alice = await login("alice");
  const bob = await login("bob");

  const aliceMessages = [userMessage("alice's plan: ' OR 1=1 --"), userMessage("alice's second thought")];
  const aliceSessionIds: string[] = [];
  for (const message of aliceMessages) {
    const { chunks } = await sendChat(url, { messages: [message], token: alice.token, chatId: "alice-chat" });
    aliceSessionIds.push(sessionIdOf(chunks));
    await quiesce(app);
  }
  const memoryIds: string[] = [];
  for (const body of [
    { scope: "user", text: "alice: '; DROP TABLE memories; --" },
    { scope: "session", sessionId: aliceSessionIds[0], text: "alice's standing order" },
  ]) {
    const created = await callApi(url, "POST", "/api/memories", { token: alice.token, body });
    assert.equal(created.status, 201, "alice's memory is created");
    memoryIds.push((created.body.memory as { id: string }).id);
  }
  const page = await callApi(url, "GET", "/api/sessions?limit=1", { token: alice.token });
  const cursor = page.body.nextCursor;
  assert.equal(typeof cursor, "string", "alice's first page has a next cursor");

  const bobTurn = await sendChat(url, { messages: [userMessage("bob's own session")], token: bob.token });
  await quiesce(app);
  return {
    app,
    url,
    model,
    alice: {
      ...alice,
      sessionIds: aliceSessionIds,
      memoryIds,
      messageIds: aliceMessages.map((message) => message.id),
      chatId: "alice-chat",
      cursor: cursor as string,
    },
    bob: { ...bob, sessionId: sessionIdOf(bobTurn.chunks) },
    aliceData: await userData(app, alice.id),
  };
}

/** Pending-vector rows already reported, per app: reported once, then ignored, so one run's defect does not fail every later run. */
const reportedStuck = new WeakMap<App, Set<string>>();

/**
 * Waits until no turn runs and every saved message is embedded, so that counts
 * hold still. Once no turn runs, every save is done: a pending-vector row
 * without its message is left behind by a save that failed (reported at once),
 * and one still waiting after 2 s is a saved message recall can never find.
 * Each is reported once, as a failure.
 */
export async function quiesce(app: App): Promise<void> {
  await app.turns.settled();
  const known = reportedStuck.get(app) ?? new Set<string>();
  reportedStuck.set(app, known);
  const report = (rows: string[], problem: string) => {
    for (const row of rows) known.add(row);
    assert.fail(`${problem}: ${rows.join(", ")}`);
  };
  let waiting: string[] = [];
  for (let attempt = 0; attempt < 100; attempt++) {
    const pending = await libsqlOf(app).memory.execute(
      `SELECT message_id, hex(message_id) AS bytes,
         EXISTS (SELECT 1 FROM mastra_messages WHERE id = message_id) AS saved
       FROM session_bridge_pending_vectors`,
    );
    const rows = pending.rows
      .map((row) => ({
        name: `${JSON.stringify(row.message_id)} (bytes ${row.bytes})`,
        saved: Number(row.saved) === 1,
      }))
      .filter((row) => !known.has(row.name));
    const orphans = rows.filter((row) => !row.saved).map((row) => row.name);
    if (orphans.length > 0) report(orphans, "pending-vector rows left behind by a message save that failed");
    waiting = rows.map((row) => row.name);
    if (waiting.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  report(waiting, "saved messages still not embedded after 2 s, so recall can never find them");
}

/** A user's sessions, messages, traces, memories and usage, through the app's own stores. */
export async function userData(app: App, userId: string) {
  const sessions = [];
  let cursor: string | undefined;
  do {
    const page = await app.sessions.list(userId, { limit: 100, ...(cursor ? { cursor } : {}) });
    sessions.push(...page.sessions);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return {
    sessions,
    messages: await Promise.all(sessions.map((session) => app.memory.listMessages(session.id, userId))),
    traces: await Promise.all(sessions.map((session) => app.traces.listForSession(session.id))),
    memories: await app.memories.list(userId),
    usage: await app.usage.list(userId),
  };
}

/** Tables whose every row is hashed, not only counted. */
const hashedTables = new Set([
  "sessions",
  "memories",
  "tool_sessions",
  "users",
  "auth_tokens",
  "turns",
  "turn_traces",
  "usage_daily",
  "mastra_messages",
  "mastra_threads",
  "session_bridge_pending_vectors",
]);

async function tableTotals(client: Client, label: string): Promise<Record<string, string | number>> {
  const tables = await client.execute(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name",
  );
  // A finished turn's chunk log is deleted by a timer 60 s later: not something a request stores.
  const names = tables.rows.map((row) => String(row.name)).filter((name) => name !== "turn_chunks");
  const counts = await client.batch(
    names.map((name) => `SELECT count(*) AS n FROM "${name}"`),
    "read",
  );
  const totals: Record<string, string | number> = {};
  for (const [index, name] of names.entries()) {
    totals[`${label}.${name}`] = Number(counts[index]?.rows[0]?.n);
    if (hashedTables.has(name)) {
      const rows = await client.execute(`SELECT * FROM "${name}" ORDER BY rowid`);
      totals[`${label}.${name}#`] = createHash("sha256").update(JSON.stringify(rows.rows)).digest("hex").slice(0, 16);
    }
  }
  return totals;
}

/**
 * What is stored, in both databases: every table's row count (vector tables
 * `memory_messages*` included), the rows of the app's and Mastra's main tables
 * hashed, and the per-user counts the stores report.
 */
export async function storedTotals(world: FuzzWorld): Promise<Record<string, string | number>> {
  const { app } = world;
  const perUser: Record<string, number> = {};
  for (const user of [world.alice, world.bob]) {
    const sessions = await app.sessions.list(user.id, { limit: 100 });
    perUser[`${user.id}.sessions (first page)`] = sessions.sessions.length;
    perUser[`${user.id}.memories`] = (await app.memories.list(user.id)).length;
    const messages = await libsqlOf(app).memory.execute({
      sql: "SELECT count(*) AS n FROM mastra_messages WHERE resourceId = ?",
      args: [user.id],
    });
    perUser[`${user.id}.messages`] = Number(messages.rows[0]?.n);
  }
  return {
    ...(await tableTotals(libsqlOf(app).app, "app")),
    ...(await tableTotals(libsqlOf(app).memory, "memory")),
    ...perUser,
  };
}

/** A request exactly as it goes on the wire (Node's client: no URL normalisation, any bytes as body). */
export interface RawRequest {
  method: string;
  /** Sent as is: percent-encoding, `..` and all. */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Send the body in pieces with chunked transfer encoding instead of a content-length. */
  chunked?: boolean;
  /** Local address to connect from (the token route counts failures per address). */
  localAddress?: string;
}

export interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
}

export function sendRaw(url: string, request: RawRequest): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  const body = typeof request.body === "string" ? Buffer.from(request.body, "utf8") : request.body;
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      {
        host: hostname,
        port,
        method: request.method,
        path: request.path,
        agent: false,
        headers: {
          ...request.headers,
          // Node chunks a body without a length only for some methods; say so for all.
          ...(body
            ? request.chunked
              ? { "transfer-encoding": "chunked" }
              : { "content-length": String(body.byteLength) }
            : {}),
        },
        ...(request.localAddress ? { localAddress: request.localAddress } : {}),
      },
      (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on("data", (chunk: Buffer) => chunks.push(chunk));
        incoming.on("error", reject);
        incoming.on("end", () =>
          resolve({
            status: incoming.statusCode ?? 0,
            headers: incoming.headers,
            text: Buffer.concat(chunks).toString("utf8"),
          }),
        );
      },
    );
    outgoing.on("error", reject);
    if (!body) {
      outgoing.end();
    } else if (request.chunked) {
      for (let offset = 0; offset < body.byteLength; offset += 65_536)
        outgoing.write(body.subarray(offset, offset + 65_536));
      outgoing.end();
    } else {
      outgoing.end(body);
    }
  });
}

/** A request's short name for assertion messages. */
export function describeRequest(request: RawRequest): string {
  const size = request.body === undefined ? "" : ` (${Buffer.byteLength(request.body)} bytes)`;
  const path = request.path.length > 160 ? `${request.path.slice(0, 160)}…[${request.path.length}]` : request.path;
  return `${request.method} ${path}${size}`;
}

const prototypeNames = Object.getOwnPropertyNames(Object.prototype).sort();
const snakeCase = /^[a-z]+(_[a-z]+)*$/;

/** Contract: every error is exactly `{"error":{"code":"<snake_case>","message":"<for humans>"}}`. */
export function assertErrorShape(label: string, answer: RawAnswer): { code: string; message: string } {
  let body: unknown;
  try {
    body = JSON.parse(answer.text);
  } catch {
    assert.fail(`${label}: the ${answer.status} answer is not JSON: ${JSON.stringify(answer.text.slice(0, 200))}`);
  }
  const error = (body as { error?: unknown } | null)?.error as Record<string, unknown> | undefined;
  assert.ok(
    body !== null &&
      typeof body === "object" &&
      !Array.isArray(body) &&
      Object.keys(body).join() === "error" &&
      typeof error === "object" &&
      error !== null &&
      Object.keys(error).sort().join() === "code,message" &&
      typeof error.code === "string" &&
      typeof error.message === "string",
    `${label}: the ${answer.status} body is not exactly {"error":{"code","message"}}: ${answer.text.slice(0, 300)}`,
  );
  assert.match(
    answer.headers["content-type"] ?? "",
    /^application\/json/,
    `${label}: the ${answer.status} answer says it is JSON`,
  );
  const { code, message } = error as { code: string; message: string };
  assert.match(code, snakeCase, `${label}: error code ${JSON.stringify(code)} is snake_case`);
  assert.ok(message.length > 0, `${label}: the error message is not empty`);
  return { code, message };
}

/**
 * Sends one generated request as quietly as possible (no turn running, every
 * message embedded) and checks the invariants every request keeps: no 5xx,
 * errors in the contract's shape, the server still healthy, no prototype
 * pollution, nothing stored by a rejected request, Alice's data untouched.
 * `writes: false` also checks that an accepted request stored nothing.
 */
export async function exchange(
  world: FuzzWorld,
  request: RawRequest,
  options: { writes?: boolean } = {},
): Promise<ExchangedAnswer> {
  const label = describeRequest(request);
  await quiesce(world.app);
  const before = await storedTotals(world);
  const logMark = world.app.logLines.length;
  const answer = await sendRaw(world.url, request);
  const settled = await quiesce(world.app).then(
    () => undefined,
    (error: Error) => error,
  );
  const serverLog = world.app.logLines
    .slice(logMark)
    .filter((line) => Number(line.level) >= 40)
    .map((line) => `${line.msg}: ${(line.err as { message?: string } | undefined)?.message ?? ""}`.slice(0, 300))
    .join(" | ");
  assert.ok(!settled, `${label} (answered ${answer.status}): ${settled?.message} (server log: ${serverLog})`);
  assert.ok(
    answer.status < 500,
    `${label}: answered ${answer.status}, no 5xx: ${answer.text.slice(0, 300)} (server log: ${serverLog})`,
  );
  if (answer.status >= 400 && request.method !== "HEAD") assertErrorShape(label, answer);
  const health = await sendRaw(world.url, { method: "GET", path: "/healthz" });
  assert.equal(health.status, 200, `${label}: the server is still healthy afterwards`);
  assert.deepEqual(
    Object.getOwnPropertyNames(Object.prototype).sort(),
    prototypeNames,
    `${label}: Object.prototype is not polluted`,
  );
  if (answer.status >= 400 || options.writes === false) {
    assert.deepEqual(
      await storedTotals(world),
      before,
      `${label}: ${answer.status >= 400 ? `a rejected request (${answer.status})` : "this request"} stored nothing`,
    );
  }
  assert.deepEqual(await userData(world.app, world.alice.id), world.aliceData, `${label}: Alice's data is untouched`);
  return { ...answer, label, serverLog };
}

/** An answer as {@link exchange} returns it: with the request's name and what the server logged (warnings up). */
export type ExchangedAnswer = RawAnswer & { label: string; serverLog: string };

/** The parts of a UI message stream answer (server-sent events). */
export function streamParts(text: string): { type: string; [key: string]: unknown }[] {
  return text
    .split("\n")
    .filter((line) => line.startsWith("data: ") && line !== "data: [DONE]")
    .map((line) => JSON.parse(line.slice("data: ".length)));
}

/** Bearer headers for a user, plus JSON content type when there is a body. */
export const as = (user: FuzzUser, json = true): Record<string, string> => ({
  authorization: `Bearer ${user.token}`,
  ...(json ? { "content-type": "application/json" } : {}),
});

/**
 * The user's next ordinary turn, through the AI SDK's own client, still
 * finishes: in a new session (whose recall reaches all the user's sessions)
 * and in each of `sessionIds`. `label` names the run that came before.
 */
export async function assertNextTurnFinishes(
  world: FuzzWorld,
  user: FuzzUser = world.bob,
  sessionIds: string[] = [world.bob.sessionId],
  label = "after the property",
): Promise<void> {
  for (const sessionId of [undefined, ...sessionIds]) {
    const logMark = world.app.logLines.length;
    const { chunks, message } = await sendChat(world.url, {
      messages: [userMessage("an ordinary question after the fuzzing")],
      token: user.token,
      ...(sessionId ? { sessionId } : {}),
    });
    await quiesce(world.app);
    const serverLog = world.app.logLines
      .slice(logMark)
      .filter((line) => Number(line.level) >= 40)
      .map((line) => `${line.msg}: ${(line.err as { message?: string } | undefined)?.message ?? ""}`)
      .join(" | ");
    assert.equal(
      chunks.at(-1)?.type,
      "finish",
      `${label}: the user's next ordinary turn (${sessionId ?? "new session"}) ends with finish, ` +
        `got ${JSON.stringify(chunks.slice(-2))} (server log: ${serverLog})`,
    );
    assert.equal((message?.metadata as { status?: string } | undefined)?.status, "complete");
  }
  assert.deepEqual(await userData(world.app, world.alice.id), world.aliceData, `${label}: Alice's data is untouched`);
}

/** A new user with a token: chat properties give each run its own, so that runs cannot interfere through recall. */
export async function freshUser(world: FuzzWorld): Promise<FuzzUser> {
  const created = await world.app.users.create(`fuzz${unique()}`);
  const answer = await postJson(world.url, { apiKey: created.apiKey }, { path: "/api/auth/token" });
  assert.equal(answer.status, 200, "a fresh user gets a token");
  return { id: created.user.id, apiKey: created.apiKey, token: (answer.body as unknown as { token: string }).token };
}

/** A fresh suffix, so that generated client message ids never collide with earlier runs' (a collision is a replay). */
let uniqueCounter = 0;
export const unique = () => `~${(++uniqueCounter).toString(36)}`;

/** Well-formed: no lone surrogate (what UTF-8 storage can hold as is). */
export const isWellFormed = (text: string) => !/\p{Cs}/u.test(text);
