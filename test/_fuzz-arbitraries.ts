import fc from "fast-check";
import { type FuzzWorld, unique } from "./_fuzz.ts";

/** A UI message part as a client may send it. */
export type Part = { type: string; text?: unknown; [key: string]: unknown };
export const textPart = (text: string): Part => ({ type: "text", text });
/** A user message; the id is fresh unless given, so that no run replays another's. */
export const chatMessage = (parts: Part[], id = `m${unique()}`) => ({ id, role: "user", parts });

/** SQL that must stay text: in bodies, titles, memories, ids and query strings. */
export const sqlTexts = [
  "' OR 1=1 --",
  "'; DROP TABLE sessions; --",
  '" OR ""="',
  "1; DELETE FROM mastra_messages WHERE 1=1",
  "') UNION SELECT api_key_hash, id FROM users --",
  "%' AND 1=0 UNION SELECT token_hash FROM auth_tokens --",
  "Robert'); DROP TABLE memories;--",
  "$1 ? :id @p NULL",
];

/** Pieces that trip encoders, trimmers, splitters and storage: NUL, line breaks, RTL, combining marks, emoji, noncharacters. */
const oddPieces = [
  "\u0000",
  "\r\n",
  "\n",
  "\r",
  "\t",
  " ",
  "\u00a0",
  "\u3000",
  "\u200b",
  "\u200d",
  "\u2028",
  "\u2029",
  "\ufeff",
  "\u202e",
  "\u200f",
  "\u0301",
  "e\u0301",
  "\u0627\u0644\u0633\u0644\u0627\u0645",
  "\u05e9\u05dc\u05d5\u05dd",
  "\u{1f469}\u200d\u{1f469}\u200d\u{1f467}\u200d\u{1f466}",
  "\u{1f3f3}\ufe0f\u200d\u{1f308}",
  "\u{1f600}",
  "\uffff",
  "\ufffe",
  "\u{10ffff}",
  "\u001b[31m",
  "\u007f",
  "\\",
  '"',
  "</script>",
  "\u0024{x}",
  "%s%n",
  "%00",
  // Mastra's own markup, which it strips from stored text: a user may still type it.
  "<working_memory>note</working_memory>",
  "<working_memory>",
  ...sqlTexts,
];

/** Any valid Unicode (no lone surrogates), biased towards the odd. */
export const oddText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.string({ unit: "grapheme", maxLength: 12 }),
  fc
    .array(fc.oneof(fc.constantFrom(...oddPieces), fc.string({ maxLength: 6 })), { maxLength: 8 })
    .map((pieces) => pieces.join("")),
);

/** Only whitespace, of the kinds JavaScript's `trim()` removes. */
export const whitespaceText = fc
  .array(fc.constantFrom(" ", "\t", "\n", "\r\n", "\r", "\u00a0", "\u3000", "\u2028", "\ufeff"), {
    minLength: 1,
    maxLength: 6,
  })
  .map((pieces) => pieces.join(""));

/** Text a user may type: odd, whitespace-only, padded with whitespace, or cut across the 80-character title limit. */
export const chatText = fc.oneof(
  oddText,
  whitespaceText,
  fc.tuple(whitespaceText, oddText, fc.option(whitespaceText, { nil: "" })).map((pieces) => pieces.join("")),
  fc
    .tuple(fc.integer({ min: 70, max: 82 }), fc.constantFrom(...oddPieces), oddText)
    .map(([length, piece, rest]) => `${"x".repeat(length)}${piece}${rest}`),
);

/** Text with a control character inside (NUL included), where storage that reads C strings cuts it short. */
export const controlCharacterText = fc
  .tuple(oddText, fc.constantFrom("\u0000", "\u0001", "\u001f", "\u007f", "\u0085"), oddText)
  .map((pieces) => pieces.join(""));

/** Text with a lone surrogate: JSON.stringify sends it as a `\ud800`-style escape. */
export const loneSurrogateText = fc
  .tuple(oddText, fc.constantFrom("\ud800", "\udfff", "\udc00x", "a\ud83d", "\ud83d\ud83d"), oddText)
  .map((pieces) => pieces.join(""));

/** Client-chosen message ids a hostile or sloppy client may send (strings; wrong types are elsewhere). */
export const clientMessageId = fc.oneof(
  fc.uuid(),
  fc.constantFrom(...sqlTexts, "../x", "a/b", "/", "%2F", "__proto__", "constructor", "null", "\u0000", " "),
  fc.string({ unit: "binary", minLength: 1, maxLength: 40 }),
  fc.integer({ min: 150, max: 200 }).map((length) => "i".repeat(length)),
);

/** A marker that {@link serializeBody} turns into JSON nested `depth` levels deep (built as text, so the client never recurses). */
export interface DeepNest {
  deep: "array" | "object";
  depth: number;
}
export const deepNest = fc.record({
  deep: fc.constantFrom<"array" | "object">("array", "object"),
  depth: fc.constantFrom(2, 64, 1_000, 10_000, 100_000),
});
const isDeepNest = (value: unknown): value is DeepNest =>
  typeof value === "object" && value !== null && "deep" in value && "depth" in value && Object.keys(value).length === 2;

/** JSON text for a generated body: {@link DeepNest} markers become deep JSON; `__proto__` own keys stay own keys. */
export function serializeBody(body: unknown): string {
  const nests: DeepNest[] = [];
  const text = JSON.stringify(body, (_key, value: unknown) => {
    if (!isDeepNest(value)) return value;
    nests.push(value);
    return `@@deep${nests.length - 1}@@`;
  });
  return (text ?? "null").replace(/"@@deep(\d+)@@"/g, (_match, index: string) => {
    const { deep, depth } = nests[Number(index)] as DeepNest;
    return deep === "array"
      ? `${"[".repeat(depth)}${"]".repeat(depth)}`
      : `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;
  });
}

/** A value of any JSON type, hostile strings and deep nesting included: what a wrong client puts anywhere. */
export const hostileValue = (world: FuzzWorld): fc.Arbitrary<unknown> =>
  fc.oneof(
    fc.constantFrom(null, true, false, 0, -1, 1.5, 1e308, -0, "", "[object Object]", [], {}, [null], { 0: "x" }),
    fc.integer(),
    fc.double(),
    oddText,
    loneSurrogateText,
    fc.constantFrom(...sqlTexts),
    fc.constantFrom(world.alice.id, ...world.alice.sessionIds, ...world.alice.memoryIds, ...world.alice.messageIds),
    fc.jsonValue({ maxDepth: 3 }),
    deepNest,
  );

/** Keys a client must never be able to use to act as someone else or pollute a prototype. */
export const extraKeys = fc.constantFrom("resourceId", "userId", "__proto__", "constructor", "threadId", "prototype");

export const extraValue = (world: FuzzWorld): fc.Arbitrary<unknown> =>
  fc.oneof(
    fc.constant(world.alice.id),
    fc.constant({ resourceId: world.alice.id, isAdmin: true, polluted: "yes" }),
    fc.constant({ prototype: { polluted: "yes" } }),
    hostileValue(world),
  );

/** Sets an own enumerable property, `__proto__` included (an assignment would set the prototype instead). */
export function setOwn(target: object, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** An id for a path or a body: `value` as the server should read it, `segment` as sent in the path. */
export interface HostileId {
  value: string;
  segment: string;
}

const rawSegments = [
  "..%2F",
  "..%2F..%2Fhealthz",
  "%2e%2e%2f",
  "..",
  ".",
  "%2E",
  "%",
  "%zz",
  "%00",
  "%C0%80",
  "%ED%A0%80",
  "%FF",
  "%E2%80%AE",
  "\u00ff\u00e9",
  "'%20OR%201=1%20--",
  "1;DROP%20TABLE%20sessions",
  "null",
  "undefined",
  "NaN",
  "-1",
  "0",
  "__proto__",
  "constructor",
  "toString",
  "00000000-0000-0000-0000-000000000000",
  "ffffffff-ffff-ffff-ffff-ffffffffffff",
  "%7B01937c4e-0000-7000-8000-000000000000%7D",
];

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

const encoded = (value: string): HostileId => ({ value, segment: encodeURIComponent(value) });

/** Ids of other users (any case, decorated), UUIDs of every version, path tricks, SQL, very long ones. */
export const hostileId = (world: FuzzWorld): fc.Arbitrary<HostileId> => {
  const aliceIds = [...world.alice.sessionIds, ...world.alice.memoryIds, world.alice.chatId, ...world.alice.messageIds];
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...aliceIds).map(encoded) },
    fc.constantFrom(...aliceIds).map((id) => encoded(id.toUpperCase())),
    fc
      .tuple(fc.constantFrom(...aliceIds), fc.constantFrom(" ", "\u0000", "/", "%", "x", "\n", "'"), fc.boolean())
      .map(([id, decoration, before]) => encoded(before ? `${decoration}${id}` : `${id}${decoration}`)),
    fc.uuid({ version: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15] }).map(encoded),
    fc.uuid().map((id) => encoded(id.toUpperCase())),
    fc.uuid().map((id) => encoded(id.replaceAll("-", ""))),
    fc.constantFrom(...rawSegments).map((segment) => ({ value: decodeSegment(segment), segment })),
    fc.constantFrom(...sqlTexts).map(encoded),
    oddText.filter((text) => text.length > 0).map(encoded),
    fc.integer({ min: 37, max: 20_000 }).map((length) => encoded("a".repeat(length))),
  );
};

/** `value` with Alice's id replaced by a well-formed id of the same shape and case that belongs to nobody. */
export function twinOf(value: string, aliceId: string): string {
  const at = value.toLowerCase().indexOf(aliceId.toLowerCase());
  const found = value.slice(at, at + aliceId.length);
  const nobody = aliceId.replace(/[0-9a-f](?=[0-9a-f]{0,3}$)/g, "0").replace(/^alice/, "nobod");
  const twin = found === found.toLowerCase() ? nobody : nobody.toUpperCase();
  return `${value.slice(0, at)}${twin}${value.slice(at + aliceId.length)}`;
}

/** Valid fields for a route, so that one hostile change is what the server judges. */
export function validFieldsFor(path: string): Record<string, unknown> {
  if (path === "/api/chat") return { messages: [chatMessage([textPart("padded hello")])] };
  if (path === "/api/memories") return { scope: "user", text: "padded memory" };
  if (path.startsWith("/api/sessions/") && !path.endsWith("/stop")) return { title: "padded title" };
  if (path === "/api/auth/token") return { apiKey: "sbk_wrong" };
  return {};
}

/** The field holding user text on a route, set to `text`. */
export function textFieldFor(path: string, text: string): Record<string, unknown> {
  if (path === "/api/chat") return { messages: [chatMessage([textPart(text)])] };
  if (path === "/api/memories") return { text };
  if (path.startsWith("/api/sessions/") && !path.endsWith("/stop")) return { title: text };
  if (path === "/api/auth/token") return { apiKey: text };
  return { note: text };
}

/** Applies one generated change at `path` (`-1`: an array's last element); skips paths a previous change removed. */
export function mutate(
  root: unknown,
  path: (string | number)[],
  change: { kind: "set"; value: unknown } | { kind: "delete" } | { kind: "extra"; key: string; value: unknown },
): unknown {
  if (path.length === 0) {
    if (change.kind === "set") return change.value;
    if (change.kind === "extra" && typeof root === "object" && root !== null) setOwn(root, change.key, change.value);
    return root;
  }
  let parent: unknown = root;
  for (const step of path.slice(0, -1)) {
    parent = child(parent, step);
    if (typeof parent !== "object" || parent === null) return root;
  }
  const lastStep = path.at(-1) as string | number;
  const key = Array.isArray(parent) && lastStep === -1 ? parent.length - 1 : lastStep;
  if (typeof parent !== "object" || parent === null) return root;
  const target = parent as Record<string | number, unknown>;
  if (change.kind === "set") setOwn(target, String(key), change.value);
  else if (change.kind === "delete") delete target[key];
  else {
    const holder = target[key];
    if (typeof holder === "object" && holder !== null && !Array.isArray(holder))
      setOwn(holder, change.key, change.value);
  }
  return root;
}

function child(parent: unknown, step: string | number): unknown {
  if (Array.isArray(parent)) return parent[step === -1 ? parent.length - 1 : Number(step)];
  if (typeof parent === "object" && parent !== null) return (parent as Record<string, unknown>)[String(step)];
  return undefined;
}
