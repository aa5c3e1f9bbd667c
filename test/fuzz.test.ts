/**
 * Property-based fuzzing of every route of the HTTP contract (docs/contract.md) with fast-check, against a real
 * server on a real port with `AUTH=apikey`: Alice owns sessions, messages and memories; Bob (or a fresh user per run)
 * sends hostile requests, often with Alice's ids. After every request `exchange` checks what always holds: no 5xx,
 * errors exactly `{"error":{"code","message"}}`, the server healthy, no prototype pollution, nothing stored by a
 * rejected request, Alice's data untouched; each property adds its own.
 *
 * FUZZ_SEED replays a run (the seed is in the suite's name and in fast-check's report), FUZZ_RUNS sets the runs of
 * every property, FUZZ_SHRINKS / FUZZ_SHRINK_MS bound shrinking (default 40 runs, 8 s).
 *
 * One file of ~900 lines on purpose: every property shares one running server and its users (one test process),
 * and each reads as the section of the contract it checks; the generators live in _fuzz-arbitraries.ts and the
 * exchange and its invariants in _fuzz.ts.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { UIMessage } from "ai";
import fc from "fast-check";
import { userMessage } from "./_chat.ts";
import {
  as,
  assertErrorShape,
  assertNextTurnFinishes,
  boundedShrinking,
  type ExchangedAnswer,
  exchange,
  type FuzzUser,
  type FuzzWorld,
  freshUser,
  fuzzParameters,
  fuzzSeed,
  isWellFormed,
  makeFuzzWorld,
  type RawRequest,
  sendRaw,
  streamParts,
  unique,
} from "./_fuzz.ts";
import {
  chatMessage,
  chatText,
  clientMessageId,
  controlCharacterText,
  deepNest,
  extraKeys,
  extraValue,
  type HostileId,
  hostileId,
  hostileValue,
  loneSurrogateText,
  mutate,
  oddText,
  type Part,
  serializeBody,
  setOwn,
  sqlTexts,
  textFieldFor,
  textPart,
  twinOf,
  validFieldsFor,
  whitespaceText,
} from "./_fuzz-arbitraries.ts";

const maxBodyBytes = 1_048_576;

/** A client message id the server keeps (docs/api.md, "Ids"). */
const isAcceptableId = (id: string) =>
  id.length >= 1 && id.length <= 200 && !/[\u0000-\u001f\u007f]/.test(id) && isWellFormed(id);

type StoredMessage = UIMessage & { parts: Part[] };
interface SessionDetail {
  session: { id: string; title: string | null };
  messages: StoredMessage[];
}

/** What storage that cannot hold a lone surrogate may fairly keep instead of it. */
const replacingLoneSurrogates = (text: string) => text.replace(/\p{Cs}/gu, "\ufffd");
/** Kept exactly, or with each lone surrogate (not Unicode, so not storable as sent) replaced by U+FFFD. */
const sameText = (kept: unknown, sent: string) => kept === sent || kept === replacingLoneSurrogates(sent);

async function getJson<T>(world: FuzzWorld, path: string, user: FuzzUser = world.bob): Promise<T> {
  const answer = await sendRaw(world.url, { method: "GET", path, headers: as(user, false) });
  assert.equal(answer.status, 200, `GET ${path} answers 200: ${answer.text.slice(0, 200)}`);
  return JSON.parse(answer.text) as T;
}

/**
 * An accepted POST /api/chat: the stream ran for the caller and ended with
 * `finish` (the mock model never fails), and the user message is stored once,
 * under the client's id. Returns what `GET /api/sessions/:id` shows.
 */
async function acceptedTurn(world: FuzzWorld, answer: ExchangedAnswer, messageId: string, user: FuzzUser = world.bob) {
  const { label } = answer;
  assert.equal(
    answer.headers["x-vercel-ai-ui-message-stream"],
    "v1",
    `${label}: an accepted turn is a UI message stream`,
  );
  const parts = streamParts(answer.text);
  assert.equal(
    parts.at(-1)?.type,
    "finish",
    `${label}: an accepted turn ends with finish: ${answer.text.slice(-300)} (server log: ${answer.serverLog})`,
  );
  assert.ok(!parts.some((part) => part.type === "error"), `${label}: an accepted turn has no error part`);
  const announced = announcedSession(parts);
  assert.equal(announced?.resourceId, user.id, `${label}: the turn runs for the caller, whatever the body says`);
  const sessionId = announced?.sessionId ?? "";
  const detail = await getJson<SessionDetail>(world, `/api/sessions/${sessionId}`, user);
  const stored = detail.messages.filter((message) => message.role === "user" && sameText(message.id, messageId));
  assert.equal(stored.length, 1, `${label}: the user message is stored once, under the client's id ${messageId}`);
  return { sessionId, detail, stored: stored[0] as StoredMessage };
}

/** The `data-session` part's session and resource. */
function announcedSession(parts: { type: string; [key: string]: unknown }[]) {
  return parts.find((part) => part.type === "data-session")?.data as
    | { sessionId: string; resourceId: string }
    | undefined;
}

/** Text parts as sent and as stored; `exactWhitespace: false` forgives only leading and trailing whitespace. */
function assertTextsKept(label: string, sent: Part[], stored: Part[], exactWhitespace: boolean): void {
  const sentTexts = sent.filter((part) => part.type === "text").map((part) => String(part.text));
  const storedTexts = stored.filter((part) => part.type === "text").map((part) => String(part.text));
  const shown = `sent ${JSON.stringify(sentTexts)}, stored ${JSON.stringify(storedTexts)}`;
  assert.equal(storedTexts.length, sentTexts.length, `${label}: every text part is kept (${shown})`);
  sentTexts.forEach((text, index) => {
    const kept = storedTexts[index] ?? "";
    if (exactWhitespace || text === text.trim()) {
      assert.ok(sameText(kept, text), `${label}: text part ${index} comes back exactly as sent (${shown})`);
    } else {
      // A lone surrogate may come back as itself or as U+FFFD, as in sameText.
      assert.ok(
        [text.trim(), replacingLoneSurrogates(text).trim()].includes(kept.trim()),
        `${label}: text part ${index} is kept (${shown})`,
      );
    }
  });
}

const chatRequest = (world: FuzzWorld, body: string | Buffer, headers = as(world.bob)): RawRequest => ({
  method: "POST",
  path: "/api/chat",
  headers,
  body,
});

/** A property over a fresh world; its user's next ordinary turn must still finish afterwards. */
function fuzz(name: string, body: (world: FuzzWorld, bounded: ReturnType<typeof boundedShrinking>) => Promise<void>) {
  test(name, async (t) => {
    t.diagnostic(`FUZZ_SEED=${fuzzSeed} (set FUZZ_SEED to replay, FUZZ_RUNS to change the runs per property)`);
    const world = await makeFuzzWorld(t);
    await body(world, boundedShrinking());
    await assertNextTurnFinishes(world);
  });
}

describe(`HTTP fuzz (FUZZ_SEED=${fuzzSeed})`, () => {
  fuzz(
    "POST /api/chat: wrong JSON types, missing and extra fields at every path of the useChat body",
    async (world, bounded) => {
      type Path = (string | number)[];
      const last = -1; // the last message, the new user input
      const paths: Path[] = [
        [],
        ["id"],
        ["messages"],
        ["messages", last],
        ["messages", last, "id"],
        ["messages", last, "role"],
        ["messages", last, "parts"],
        ["messages", last, "parts", 0],
        ["messages", last, "parts", 0, "type"],
        ["messages", last, "parts", 0, "text"],
        ["messages", last, "parts", 0, "state"],
        ["messages", last, "parts", 0, "providerMetadata"],
        ["messages", last, "metadata"],
        ["messages", 0, "role"],
        ["messages", 0, "parts", 0, "type"],
        ["trigger"],
        ["messageId"],
        ["sessionId"],
      ];
      const mutation = fc.oneof(
        fc.record({ path: fc.constantFrom(...paths), kind: fc.constant("set" as const), value: hostileValue(world) }),
        fc.record({ path: fc.constantFrom(...paths.slice(1)), kind: fc.constant("delete" as const) }),
        fc.record({
          path: fc.constantFrom(...paths.filter((path) => path.length !== 1 || path[0] === "messages")),
          kind: fc.constant("extra" as const),
          key: extraKeys,
          value: extraValue(world),
        }),
      );
      const base = fc.record({
        history: fc.boolean(),
        text: chatText,
        chatId: fc.string({ maxLength: 20 }),
        trigger: fc.constantFrom("submit-message", "regenerate-message", undefined),
        sessionId: fc.constantFrom(undefined, null),
      });
      await fc.assert(
        fc.asyncProperty(base, fc.array(mutation, { minLength: 1, maxLength: 3 }), async (start, mutations) =>
          bounded(async () => {
            const user = await freshUser(world);
            const messages = [
              ...(start.history
                ? [{ id: `a${unique()}`, role: "assistant", parts: [textPart("an earlier answer")] }]
                : []),
              chatMessage([textPart(start.text)]),
            ];
            let body: unknown = { id: start.chatId, messages, trigger: start.trigger, sessionId: start.sessionId };
            for (const change of mutations) body = mutate(body, change.path, change);
            const answer = await exchange(world, chatRequest(world, serializeBody(body), as(user)));
            if (answer.status !== 200) return;
            const sent = (body as { messages: { id: string; role: string; parts: Part[] }[] }).messages;
            const input = sent.findLast((message) => message.role === "user");
            assert.ok(input, `${answer.label}: an accepted body has a user message`);
            const { stored, sessionId } = await acceptedTurn(world, answer, input.id, user);
            // Exact whitespace is the round-trip property's; here any other loss shows.
            assertTextsKept(answer.label, input.parts, stored.parts, false);
            await assertNextTurnFinishes(world, user, [sessionId], answer.label);
          }),
        ),
        fuzzParameters(80),
      );
    },
  );

  fuzz("POST /api/chat: accepted text comes back byte for byte from GET /api/sessions/:id", async (world, bounded) => {
    const message = fc.record({
      // Hostile client ids are other properties' (wrong types, the same id twice): here only the text varies.
      id: fc.uuid(),
      texts: fc.array(fc.oneof({ weight: 6, arbitrary: chatText }, { weight: 1, arbitrary: loneSurrogateText }), {
        minLength: 1,
        maxLength: 3,
      }),
      sessionId: fc.constantFrom(undefined, null),
    });
    await fc.assert(
      fc.asyncProperty(message, async ({ id, texts, sessionId }) =>
        bounded(async () => {
          const user = await freshUser(world);
          const parts = texts.map(textPart);
          const answer = await exchange(
            world,
            chatRequest(world, JSON.stringify({ messages: [chatMessage(parts, id)], sessionId }), as(user)),
          );
          if (!texts.every(isWellFormed) && answer.status >= 400) return; // refusing a lone surrogate is fair
          assert.equal(answer.status, 200, `${answer.label}: a valid useChat body is accepted: ${answer.text}`);
          const { stored, detail, sessionId: session } = await acceptedTurn(world, answer, id, user);
          assertTextsKept(answer.label, parts, stored.parts, true);
          assert.deepEqual(
            detail.messages.map((item) => item.role),
            ["user", "assistant"],
            `${answer.label}: the new session holds the user message and its answer`,
          );
          await assertNextTurnFinishes(world, user, [session], answer.label);
        }),
      ),
      fuzzParameters(40),
    );
  });

  fuzz("POST /api/chat: a new session's title is the start of the user's text", async (world, bounded) => {
    await fc.assert(
      fc.asyncProperty(chatText, async (text) =>
        bounded(async () => {
          const answer = await exchange(
            world,
            chatRequest(world, JSON.stringify({ messages: [chatMessage([textPart(text)])] })),
          );
          assert.equal(answer.status, 200, `${answer.label}: a valid useChat body is accepted`);
          const sessionId = announcedSession(streamParts(answer.text))?.sessionId;
          assert.ok(sessionId, `${answer.label}: the stream names its session`);
          const { session } = await getJson<SessionDetail>(world, `/api/sessions/${sessionId}`);
          const shown = `text ${JSON.stringify(text)}, title ${JSON.stringify(session.title)}`;
          // Titles may be tidied (docs/chat.md): control characters and runs of whitespace become one space.
          const flat = text.replace(/[\u0000-\u001f\u007f\s]+/g, " ").trim();
          if (session.title === null) {
            // Blank once tidied: whitespace and control characters only (a lone NUL, found by seed 851242187).
            assert.equal(flat, "", `${answer.label}: only a blank message leaves a session untitled (${shown})`);
            return;
          }
          assert.ok(isWellFormed(session.title), `${answer.label}: the title is well-formed Unicode (${shown})`);
          assert.ok(session.title.length <= 80, `${answer.label}: a title is at most 80 characters (${shown})`);
          assert.ok(
            session.title.length > 0 && flat.startsWith(session.title),
            `${answer.label}: the title is the start of the text (${shown})`,
          );
        }),
      ),
      fuzzParameters(30),
    );
  });

  fuzz("raw bodies: around 1 MiB, invalid UTF-8, deep nesting, odd content types, chunked", async (world, bounded) => {
    const targets: { method: string; path: string; body: Record<string, unknown>; fields: string[] }[] = [
      { method: "POST", path: "/api/chat", body: {}, fields: ["padding", "id", "messageId", "metadata"] },
      { method: "POST", path: "/api/memories", body: { scope: "user" }, fields: ["padding", "text"] },
      { method: "PATCH", path: `/api/sessions/${world.bob.sessionId}`, body: {}, fields: ["padding", "title"] },
      { method: "POST", path: "/api/auth/token", body: {}, fields: ["padding", "apiKey"] },
      { method: "POST", path: `/api/sessions/${world.bob.sessionId}/stop`, body: {}, fields: ["padding"] },
      { method: "DELETE", path: "/api/memories/01937c4e-0000-7000-8000-000000000001", body: {}, fields: ["padding"] },
      { method: "GET", path: "/api/sessions", body: {}, fields: ["padding"] },
    ];
    const size = fc.oneof(fc.integer({ min: -4, max: 4 }), fc.constantFrom(-65_536, 65_536, -1_000_000, 1_000_000));
    const invalidUtf8 = fc.oneof(
      fc.constantFrom(
        [0xff],
        [0xfe, 0xff],
        [0xc0, 0x80],
        [0xc3],
        [0xed, 0xa0, 0x80],
        [0xed, 0xbf, 0xbf],
        [0xf4, 0x90, 0x80, 0x80],
        [0xf8, 0x88, 0x80, 0x80, 0x80],
        [0xe2, 0x82],
        [0x80],
      ),
      fc.array(fc.integer({ min: 0x80, max: 0xff }), { minLength: 1, maxLength: 6 }),
      fc.array(fc.integer({ min: 0, max: 0xff }), { minLength: 1, maxLength: 6 }),
    );
    const spec = fc.record({
      target: fc.constantFrom(...targets),
      shape: fc.oneof(
        fc.record({ kind: fc.constant("padded" as const), delta: size, inField: fc.boolean(), field: fc.nat() }),
        fc.record({
          kind: fc.constant("bytes" as const),
          bytes: invalidUtf8,
          where: fc.constantFrom("text", "start", "key"),
        }),
        fc.record({ kind: fc.constant("deep" as const), nest: deepNest, whole: fc.boolean(), field: fc.nat() }),
        fc.record({
          kind: fc.constant("garbage" as const),
          text: fc.oneof(
            fc.constantFrom(
              "",
              "null",
              "[]",
              '"x"',
              "1e999",
              "{",
              '{"messages":',
              '{"a":1,}',
              "{'a':1}",
              "NaN",
              "\u0000",
            ),
            fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.stringify(value)),
            fc.string({ unit: "binary", maxLength: 40 }),
          ),
        }),
        fc.record({ kind: fc.constant("utf16" as const) }),
      ),
      contentType: fc.constantFrom(
        undefined,
        "application/json",
        "text/plain",
        "multipart/form-data; boundary=x",
        "application/json; charset=latin1",
        "application/json; charset=utf-16",
        "application/x-www-form-urlencoded",
        "APPLICATION/JSON",
        "application/json, text/plain",
      ),
      chunked: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(spec, async ({ target, shape, contentType, chunked }) =>
        bounded(async () => {
          const valid = { ...target.body, ...validFieldsFor(target.path) };
          let body: Buffer;
          if (shape.kind === "padded") {
            const wanted = maxBodyBytes + shape.delta;
            const field = target.fields[shape.field % target.fields.length] as string;
            const small = JSON.stringify(shape.inField ? { ...valid, [field]: "" } : valid);
            const missing = Math.max(0, wanted - Buffer.byteLength(small));
            body = Buffer.from(
              shape.inField
                ? JSON.stringify({ ...valid, [field]: "x".repeat(missing) })
                : `${small}${" ".repeat(missing)}`,
            );
          } else if (shape.kind === "bytes") {
            const text = JSON.stringify(
              shape.where === "key" ? { ...valid, "k@@": 1 } : { ...valid, ...textFieldFor(target.path, "A@@B") },
            );
            const [before, after] = text.split("@@") as [string, string];
            body =
              shape.where === "start"
                ? Buffer.concat([Buffer.from(shape.bytes), Buffer.from(text)])
                : Buffer.concat([Buffer.from(before), Buffer.from(shape.bytes), Buffer.from(after ?? "")]);
          } else if (shape.kind === "deep") {
            const field = target.fields[shape.field % target.fields.length] as string;
            body = Buffer.from(serializeBody(shape.whole ? shape.nest : { ...valid, [field]: shape.nest }));
          } else if (shape.kind === "garbage") {
            body = Buffer.from(shape.text);
          } else {
            body = Buffer.from(JSON.stringify(valid), "utf16le");
          }
          const answer = await exchange(world, {
            method: target.method,
            path: target.path,
            headers: { ...as(world.bob, false), ...(contentType ? { "content-type": contentType } : {}) },
            body,
            chunked,
          });
          if (target.method !== "GET" && body.byteLength > maxBodyBytes) {
            assert.equal(answer.status, 413, `${answer.label}: a body over 1 MiB is 413`);
            assert.equal(assertErrorShape(answer.label, answer).code, "payload_too_large");
          } else {
            assert.notEqual(answer.status, 413, `${answer.label}: a body of at most 1 MiB is not 413`);
          }
          if (target.path === "/api/chat" && answer.status === 200) {
            const sent = JSON.parse(new TextDecoder().decode(body)) as { messages: { id: string }[] };
            await acceptedTurn(world, answer, sent.messages[0]?.id ?? "");
          }
        }),
      ),
      fuzzParameters(60),
    );
  });

  fuzz(
    "hostile ids in paths, queries and bodies: other users' ids answer exactly like missing ones",
    async (world, bounded) => {
      const probes: {
        name: string;
        method: string;
        path: (segment: string) => string;
        body?: (id: string) => unknown;
      }[] = [
        { name: "stream", method: "GET", path: (id) => `/api/chat/${id}/stream` },
        { name: "session", method: "GET", path: (id) => `/api/sessions/${id}` },
        { name: "rename", method: "PATCH", path: (id) => `/api/sessions/${id}`, body: () => ({ title: "stolen" }) },
        { name: "delete session", method: "DELETE", path: (id) => `/api/sessions/${id}` },
        { name: "stop", method: "POST", path: (id) => `/api/sessions/${id}/stop` },
        { name: "trace", method: "GET", path: (id) => `/api/sessions/${id}/trace` },
        { name: "delete memory", method: "DELETE", path: (id) => `/api/memories/${id}` },
        { name: "memories of session", method: "GET", path: (id) => `/api/memories?scope=session&sessionId=${id}` },
        { name: "memories of scope", method: "GET", path: (id) => `/api/memories?scope=${id}` },
        { name: "sessions after cursor", method: "GET", path: (id) => `/api/sessions?cursor=${id}&limit=5` },
        { name: "sessions limit", method: "GET", path: (id) => `/api/sessions?limit=${id}` },
        { name: "usage", method: "GET", path: (id) => `/api/usage?${id}=${id}` },
        {
          name: "plant memory",
          method: "POST",
          path: () => "/api/memories",
          body: (id) => ({ scope: "session", sessionId: id, text: "planted" }),
        },
        {
          name: "chat in session",
          method: "POST",
          path: () => "/api/chat",
          body: (id) => ({ messages: [userMessage("let me in")], sessionId: id }),
        },
        {
          name: "chat reusing message id",
          method: "POST",
          path: () => "/api/chat",
          body: (id) => ({ messages: [userMessage("mine now", id)], sessionId: world.alice.sessionIds[0] }),
        },
      ];
      const aliceIds = [
        ...world.alice.sessionIds,
        ...world.alice.memoryIds,
        ...world.alice.messageIds,
        world.alice.chatId,
      ];
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...probes), hostileId(world), async (probe, id) =>
          bounded(async () => {
            const send = async (target: HostileId) =>
              exchange(
                world,
                {
                  method: probe.method,
                  path: probe.path(target.segment),
                  headers: as(world.bob, probe.body !== undefined),
                  ...(probe.body ? { body: JSON.stringify(probe.body(target.value)) } : {}),
                },
                { writes: false },
              );
            const answer = await send(id);
            const listed = answer.status === 200 && probe.method === "GET" && !probe.path("x").includes("/x");
            assert.ok(
              answer.status >= 400 || (answer.status === 204 && probe.name === "stream") || listed,
              `${answer.label}: Bob never gets anything but an error for an id he does not own (got ${answer.status})`,
            );
            if (listed) await assertOnlyBobs(world, answer);
            const alices = aliceIds.find((alice) => id.value.toLowerCase().includes(alice.toLowerCase()));
            if (!alices) return;
            const twin = twinOf(id.value, alices);
            const missing = await send({ value: twin, segment: encodeURIComponent(twin) });
            const normalise = (text: string, replaced: string) => text.split(replaced).join("<id>");
            assert.deepEqual(
              [answer.status, normalise(answer.text, id.value)],
              [missing.status, normalise(missing.text, twin)],
              `${answer.label}: another user's id answers exactly like an id that does not exist`,
            );
          }),
        ),
        fuzzParameters(150),
      );
    },
  );

  fuzz("bad or borrowed credentials on every route: 401 unauthorized, nothing stored", async (world, bounded) => {
    const bob = world.bob.sessionId;
    const routes: [string, string, unknown?][] = [
      ["POST", "/api/chat", { messages: [userMessage("hi")] }],
      ["GET", `/api/chat/${world.alice.chatId}/stream`],
      ["GET", "/api/sessions?limit=5"],
      ["GET", `/api/sessions/${bob}`],
      ["PATCH", `/api/sessions/${bob}`, { title: "hijacked" }],
      ["DELETE", `/api/sessions/${bob}`],
      ["POST", `/api/sessions/${bob}/stop`],
      ["GET", `/api/sessions/${bob}/trace`],
      ["GET", "/api/memories"],
      ["POST", "/api/memories", { scope: "user", text: "hijack" }],
      ["DELETE", `/api/memories/${world.alice.memoryIds[0]}`],
      ["GET", "/api/usage"],
      ["GET", "/api/nope"],
      ["PUT", "/api/sessions"],
    ];
    const { alice } = world;
    const badAuthorization = fc.oneof(
      fc.constant(undefined),
      fc.constantFrom(
        "",
        "Bearer",
        "Bearer ",
        "Basic YWxpY2U6c2VjcmV0",
        "Token abc",
        `Bearer ${alice.apiKey}`,
        `Bearer ${world.bob.apiKey}`,
        `${alice.token}`,
        `Bearer ${alice.token}x`,
        `Bearer ${alice.token.slice(0, -1)}`,
        `Bearer ${alice.token.toUpperCase()}`,
        `Bearer ${alice.token} ${alice.token}`,
        `Bearer ${alice.token},${alice.token}`,
        "Bearer ' OR 1=1 --",
        "Bearer sbt_",
        `Bearer ${"a".repeat(10_000)}`,
      ),
      fc.string({ unit: "grapheme-ascii", maxLength: 60 }).map((text) => `Bearer ${text}`),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), badAuthorization, async ([method, path, body], authorization) =>
        bounded(async () => {
          const answer = await exchange(
            world,
            {
              method,
              path,
              headers: {
                ...(authorization === undefined ? {} : { authorization }),
                ...(body === undefined ? {} : { "content-type": "application/json" }),
              },
              ...(body === undefined ? {} : { body: JSON.stringify(body) }),
            },
            { writes: false },
          );
          assert.equal(answer.status, 401, `${answer.label} with authorization ${JSON.stringify(authorization)}: 401`);
          assert.equal(assertErrorShape(answer.label, answer).code, "unauthorized");
          for (const open of ["/healthz", "/readyz", "/api/openapi.json"]) {
            const publicAnswer = await sendRaw(world.url, {
              method: "GET",
              path: open,
              headers: authorization === undefined ? {} : { authorization },
            });
            assert.equal(publicAnswer.status, 200, `${open} stays public whatever the authorization header`);
          }
        }),
      ),
      fuzzParameters(60),
    );
  });

  fuzz(
    "POST /api/auth/token: only an exact API key gets a token, and that token is the key's user's",
    async (world, bounded) => {
      const { alice, bob } = world;
      const apiKey = fc.oneof(
        fc.constantFrom(
          alice.apiKey,
          bob.apiKey,
          ` ${alice.apiKey}`,
          `${alice.apiKey}\n`,
          alice.apiKey.toUpperCase(),
          `${alice.apiKey}x`,
          alice.apiKey.slice(0, -1),
          alice.token,
          "sbk_' OR '1'='1",
          ...sqlTexts,
        ),
        hostileValue(world),
      );
      const body = fc.oneof(
        fc.record({ apiKey, extra: fc.option(fc.tuple(extraKeys, extraValue(world)), { nil: undefined }) }),
        hostileValue(world).map((value) => ({ whole: value })),
      );
      // The route counts failures per address; most runs come from a fresh one so the limiter does not hide the parser.
      const from = fc.oneof(
        fc.constant("127.0.0.9"),
        fc.integer({ min: 2, max: 250 }).map((octet) => `127.0.${octet}.1`),
      );
      await fc.assert(
        fc.asyncProperty(body, from, async (generated, localAddress) =>
          bounded(async () => {
            let sent: unknown;
            if ("whole" in generated) {
              sent = generated.whole;
            } else {
              sent = { apiKey: generated.apiKey };
              if (generated.extra) setOwn(sent as object, generated.extra[0], generated.extra[1]);
            }
            const answer = await exchange(world, {
              method: "POST",
              path: "/api/auth/token",
              headers: { "content-type": "application/json" },
              body: serializeBody(sent),
              localAddress,
            });
            const key = (sent as { apiKey?: unknown } | null)?.apiKey;
            const owner = [alice, bob].find((user) => typeof key === "string" && key === user.apiKey);
            if (!owner) {
              assert.ok(
                [400, 401, 429].includes(answer.status),
                `${answer.label}: a wrong key gets no token (${answer.status})`,
              );
              return;
            }
            if (answer.status === 429) return; // this address failed too often: right even for a good key
            assert.equal(answer.status, 200, `${answer.label}: the exact API key gets a token`);
            const { token } = JSON.parse(answer.text) as { token: string };
            const sessions = await sendRaw(world.url, {
              method: "GET",
              path: "/api/sessions?limit=100",
              headers: { authorization: `Bearer ${token}` },
            });
            const listed = (JSON.parse(sessions.text) as { sessions: { id: string }[] }).sessions.map(({ id }) => id);
            const owned = (await world.app.sessions.list(owner.id, { limit: 100 })).sessions.map(({ id }) => id);
            assert.deepEqual(listed, owned, `${answer.label}: the token acts for the key's user`);
          }),
        ),
        fuzzParameters(60),
      );
    },
  );

  fuzz(
    "memories: hostile bodies and queries; an accepted memory is Bob's and keeps its trimmed text",
    async (world, bounded) => {
      const { alice, bob } = world;
      const sessionId = fc.oneof(
        fc.constantFrom(bob.sessionId, bob.sessionId.toUpperCase(), null),
        fc.constantFrom(...alice.sessionIds, ...alice.sessionIds.map((id) => id.toUpperCase())),
        hostileId(world).map((id) => id.value),
        hostileValue(world),
      );
      const text = fc.oneof(
        oddText,
        controlCharacterText,
        whitespaceText,
        fc.constantFrom(...sqlTexts),
        fc
          .tuple(fc.option(whitespaceText, { nil: "" }), fc.integer({ min: 3_995, max: 4_002 }))
          .map(([space, length]) => `${space}${"m".repeat(length)}`),
        hostileValue(world),
      );
      const body = fc.record(
        {
          scope: fc.oneof({ weight: 4, arbitrary: fc.constantFrom("user", "session") }, hostileValue(world)),
          sessionId,
          text,
          extra: fc.tuple(extraKeys, extraValue(world)),
        },
        { requiredKeys: ["scope", "text"] },
      );
      await fc.assert(
        fc.asyncProperty(body, async ({ extra, ...fields }) =>
          bounded(async () => {
            const sent: Record<string, unknown> = { ...fields };
            if (extra) setOwn(sent, extra[0], extra[1]);
            const answer = await exchange(world, {
              method: "POST",
              path: "/api/memories",
              headers: as(bob),
              body: serializeBody(sent),
            });
            if (typeof sent.sessionId === "string" && alice.sessionIds.includes(sent.sessionId.toLowerCase())) {
              assert.ok(answer.status >= 400, `${answer.label}: no memory on another user's session`);
            }
            if (answer.status !== 201) return;
            const { memory } = JSON.parse(answer.text) as {
              memory: { id: string; scope: string; sessionId: string | null; text: string };
            };
            const expected = String(sent.text).trim();
            const listed = await getJson<{ memories: { id: string; text: string }[] }>(world, "/api/memories");
            const kept = listed.memories.find(({ id }) => id === memory.id)?.text;
            const shown = `sent ${JSON.stringify(sent.text)}, answered ${JSON.stringify(memory.text)}, listed ${JSON.stringify(kept)}`;
            assert.ok(sameText(memory.text, expected), `${answer.label}: the memory keeps its trimmed text (${shown})`);
            assert.ok(sameText(kept, expected), `${answer.label}: GET /api/memories lists its trimmed text (${shown})`);
            assert.equal(memory.scope, sent.scope, `${answer.label}: the memory keeps its scope`);
            assert.equal(
              memory.sessionId,
              sent.scope === "session" ? String(sent.sessionId).toLowerCase() : null,
              `${answer.label}: the memory's session`,
            );
            const owned = await world.app.memories.list(bob.id);
            assert.ok(
              owned.some(({ id }) => id === memory.id),
              `${answer.label}: the memory is Bob's, whatever the body says`,
            );
          }),
        ),
        fuzzParameters(80),
      );
    },
  );

  fuzz(
    "GET /api/sessions?limit&cursor and PATCH titles: only Bob's sessions, titles kept as sent",
    async (world, bounded) => {
      const { alice, bob } = world;
      const cursorOf = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
      const queryValue = fc.oneof(
        fc.integer({ min: -5, max: 105 }).map(String),
        fc.constantFrom("", "abc", "1.5", "0x10", "1e1", " 5", "Infinity", "-0", "+3", "\u0663", "1_0", "10abc", "NaN"),
        fc.constantFrom(alice.cursor, cursorOf([Date.now(), bob.sessionId])),
        fc
          .tuple(
            fc.oneof(fc.integer(), fc.double(), fc.constant(2 ** 53 + 2)),
            fc.oneof(oddText, fc.constantFrom(...sqlTexts)),
          )
          .map(cursorOf),
        fc.jsonValue({ maxDepth: 2 }).map(cursorOf),
        oddText,
        fc.integer({ min: 400, max: 600 }).map((length) => "c".repeat(length)),
      );
      const query = fc.array(
        fc.tuple(
          fc.constantFrom("limit", "cursor", "limit", "cursor", "__proto__", "constructor", "scope"),
          queryValue,
        ),
        { maxLength: 4 },
      );
      const title = fc.oneof(
        oddText,
        controlCharacterText,
        whitespaceText,
        fc.constantFrom(...sqlTexts),
        fc.integer({ min: 198, max: 202 }).map((length) => "t".repeat(length)),
        hostileValue(world),
      );
      const action = fc.oneof(
        query.map((pairs) => ({ kind: "list" as const, pairs })),
        fc
          .record({ title, extra: fc.option(fc.tuple(extraKeys, extraValue(world)), { nil: undefined }) })
          .map((rename) => ({ kind: "rename" as const, ...rename })),
      );
      await fc.assert(
        fc.asyncProperty(action, async (generated) =>
          bounded(async () => {
            if (generated.kind === "list") {
              const search = generated.pairs.map(([key, value]) => `${key}=${encodeURIComponent(value)}`).join("&");
              const answer = await exchange(
                world,
                { method: "GET", path: `/api/sessions?${search}`, headers: as(bob, false) },
                { writes: false },
              );
              if (answer.status === 200) await assertOnlyBobs(world, answer);
              return;
            }
            const sent: Record<string, unknown> = { title: generated.title };
            if (generated.extra) setOwn(sent, generated.extra[0], generated.extra[1]);
            const answer = await exchange(world, {
              method: "PATCH",
              path: `/api/sessions/${bob.sessionId}`,
              headers: as(bob),
              body: serializeBody(sent),
            });
            if (answer.status !== 200) return;
            const expected = String(generated.title).trim();
            const renamed = JSON.parse(answer.text) as { session: { id: string; title: string } };
            const shown = `sent ${JSON.stringify(generated.title)}, got ${JSON.stringify(renamed.session.title)}`;
            assert.equal(renamed.session.id, bob.sessionId, `${answer.label}: the answer is the renamed session`);
            assert.ok(
              sameText(renamed.session.title, expected),
              `${answer.label}: the title is kept as sent, trimmed (${shown})`,
            );
            const { session } = await getJson<SessionDetail>(world, `/api/sessions/${bob.sessionId}`);
            assert.ok(
              sameText(session.title, expected),
              `${answer.label}: GET shows the title as sent, trimmed (${shown})`,
            );
          }),
        ),
        fuzzParameters(80),
      );
    },
  );

  fuzz(
    "the same client message id in two sessions: each keeps its own text, a retry replays, later turns still work",
    async (world, bounded) => {
      const { alice } = world;
      // Brackets make every text non-blank, so each turn gets a title to tell its session by.
      const text = fc
        .oneof(fc.string({ unit: "grapheme", maxLength: 12 }), fc.constantFrom(...sqlTexts))
        .map((body) => `[${body}]`);
      const id = fc.oneof(
        clientMessageId,
        fc.constant(""),
        fc.constantFrom(...alice.messageIds, ...alice.messageIds.map((x) => x.toUpperCase())),
      );
      await fc.assert(
        fc.asyncProperty(id, text, text, text, async (messageId, first, second, retry) =>
          bounded(async () => {
            const user = await freshUser(world);
            const send = (body: unknown) => exchange(world, chatRequest(world, JSON.stringify(body), as(user)));
            const one = await send({ messages: [chatMessage([textPart(first)], messageId)] });
            // A message id names the message in storage for good (docs/api.md, "Ids"): 1 to 200 characters,
            // no control characters, no lone surrogates. Any other is refused, naming the field.
            if (!isAcceptableId(messageId)) {
              assert.equal(one.status, 400, `${one.label}: an id like ${JSON.stringify(messageId)} is refused`);
              assert.equal((JSON.parse(one.text) as { error: { code: string } }).error.code, "invalid_request");
              return;
            }
            assert.equal(one.status, 200, `${one.label}: the first use of ${messageId} is accepted`);
            const firstTurn = await acceptedTurn(world, one, messageId, user);
            const two = await send({ messages: [chatMessage([textPart(second)], messageId)] });
            assert.equal(two.status, 200, `${two.label}: the same id in a second session is accepted`);
            const secondTurn = await acceptedTurn(world, two, messageId, user);
            assert.notEqual(secondTurn.sessionId, firstTurn.sessionId, `${two.label}: a second, new session`);

            const calls = world.model.doStreamCalls.length;
            const again = await send({
              messages: [chatMessage([textPart(retry)], messageId)],
              sessionId: firstTurn.sessionId,
            });
            assert.equal(again.status, 200, `${again.label}: a retry of an answered message is accepted`);
            assert.equal(
              world.model.doStreamCalls.length,
              calls,
              `${again.label}: a retry replays without calling the model`,
            );
            const firstAnswer = firstTurn.detail.messages.find((message) => message.role === "assistant");
            assert.equal(
              (streamParts(again.text).find((part) => part.type === "start") as { messageId?: string } | undefined)
                ?.messageId,
              firstAnswer?.id,
              `${again.label}: the retry replays the stored answer`,
            );
            const intruder = await send({
              messages: [chatMessage([textPart(second)], messageId)],
              sessionId: alice.sessionIds[0],
            });
            assert.equal(intruder.status, 404, `${intruder.label}: Alice's session is not this user's to write in`);

            for (const [turn, expected] of [
              [firstTurn, first],
              [secondTurn, second],
            ] as const) {
              const { messages } = await getJson<SessionDetail>(world, `/api/sessions/${turn.sessionId}`, user);
              const label = `session ${turn.sessionId} (client id ${JSON.stringify(messageId)})`;
              assert.deepEqual(
                messages.map((message) => [message.role, message.role === "user" ? message.id : "answer"]),
                [
                  ["user", messageId],
                  ["assistant", "answer"],
                ],
                `${label}: one user message under the client's id and its answer, nothing stored twice`,
              );
              assertTextsKept(label, [textPart(expected)], messages[0]?.parts ?? [], true);
            }
            // Recall in a new session reaches both messages that share the client id.
            await assertNextTurnFinishes(
              world,
              user,
              [firstTurn.sessionId, secondTurn.sessionId],
              `after using client id ${JSON.stringify(messageId)} in two sessions`,
            );
          }),
        ),
        fuzzParameters(10),
      );
    },
  );

  fuzz("any method on any path: the contract's error shape, 405 with Allow, nothing stored", async (world, bounded) => {
    const segment = fc.oneof(
      fc.constantFrom("api", "chat", "sessions", "memories", "usage", "auth", "token", "stream", "stop", "trace"),
      fc.constantFrom("healthz", "readyz", "openapi.json", "", "..", "%2F", "API", "Sessions"),
      hostileId(world).map((id) => id.segment),
    );
    const request = fc.record({
      method: fc.constantFrom("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"),
      segments: fc.array(segment, { minLength: 1, maxLength: 5 }),
      body: fc.constantFrom(undefined, "{}", "[]", "null"),
    });
    await fc.assert(
      fc.asyncProperty(request, async ({ method, segments, body }) =>
        bounded(async () => {
          const path = `/${segments.join("/")}`;
          const answer = await exchange(
            world,
            {
              method,
              path,
              headers: as(world.bob, body !== undefined),
              ...(body === undefined || method === "GET" || method === "HEAD" ? {} : { body }),
            },
            { writes: false },
          );
          if (answer.status === 405) {
            assert.ok(answer.headers.allow, `${answer.label}: a 405 says which methods are allowed`);
          }
        }),
      ),
      fuzzParameters(120),
    );
  });
});

/** A list answered 200 to Bob holds only Bob's things. */
async function assertOnlyBobs(world: FuzzWorld, answer: ExchangedAnswer): Promise<void> {
  const body = JSON.parse(answer.text) as {
    sessions?: { id: string }[];
    memories?: { id: string }[];
    usage?: unknown[];
  };
  const { app, bob } = world;
  if (body.sessions) {
    const owned = new Set((await app.sessions.list(bob.id, { limit: 100 })).sessions.map(({ id }) => id));
    for (const { id } of body.sessions) assert.ok(owned.has(id), `${answer.label}: lists only Bob's sessions (${id})`);
  }
  if (body.memories) {
    const owned = new Set((await app.memories.list(bob.id)).map(({ id }) => id));
    for (const { id } of body.memories) assert.ok(owned.has(id), `${answer.label}: lists only Bob's memories (${id})`);
  }
  if (body.usage) {
    assert.deepEqual(body.usage, await app.usage.list(bob.id), `${answer.label}: shows only Bob's usage`);
  }
}
