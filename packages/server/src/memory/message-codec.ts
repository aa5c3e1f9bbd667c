import { type MastraDBMessage, MessageList } from "@mastra/core/agent/message-list";
import type { ChatMessage } from "@session-bridge/shared";

/**
 * Marks stored content whose `parts` are the AI SDK UI parts exactly as
 * accepted or streamed. Mastra's own conversion (its `MessageList`) drops
 * data-part ids, source titles, dynamic tools and part states, and its
 * `Memory.saveMessages` trims text; rows written before this marker existed
 * went through it and are read back through it.
 */
const exactParts = "ai-sdk-ui";

/**
 * How answers of running turns were marked before they had their own flag
 * (`metadata.status`); such rows are still read as running.
 */
const legacyRunningStatus = "streaming";

/** Stored content: Mastra's format-2 shape, so Mastra's own readers still find text and metadata. */
interface StoredContent {
  format: 2;
  parts: unknown[];
  metadata?: unknown;
  partsFormat?: typeof exactParts;
  /** The answer of a turn still running: hidden from every read but the turn's own (retry, recovery). */
  running?: true;
}

/** A message as decoded from its row. */
export interface DecodedMessage {
  message: ChatMessage;
  running: boolean;
}

/**
 * The JSON a message is stored as. `JSON.stringify` escapes NUL and lone
 * surrogates, so every string the client sent comes back byte for byte.
 */
export function encodeContent(message: ChatMessage, running = false): string {
  // The running flag goes first, so SQL can tell a running answer by the JSON's prefix (see runningPredicate).
  const content: StoredContent = running
    ? { running: true, format: 2, parts: message.parts, partsFormat: exactParts }
    : { format: 2, parts: message.parts, partsFormat: exactParts };
  if (message.metadata !== undefined) content.metadata = message.metadata;
  return JSON.stringify(content);
}

/** A stored row back as the UI message its client saw, under the client's id. */
export function decodeMessage(row: { id: string; role: string; content: string }): DecodedMessage {
  const content = JSON.parse(row.content) as StoredContent;
  if (content.partsFormat === exactParts) {
    const message = { id: row.id, role: row.role, parts: content.parts } as ChatMessage;
    return {
      message:
        content.metadata === undefined
          ? message
          : { ...message, metadata: content.metadata as ChatMessage["metadata"] },
      running: content.running === true,
    };
  }
  const message = legacyToUiMessage(row.id, row.role, content);
  return { message, running: (message.metadata as { status?: unknown } | undefined)?.status === legacyRunningStatus };
}

/** Rows saved through Mastra's conversion, converted back the same way (one message at a time, so equal ids never merge). */
function legacyToUiMessage(id: string, role: string, content: StoredContent): ChatMessage {
  const list = new MessageList();
  list.add([{ id, role, content, createdAt: new Date(0) } as MastraDBMessage], "memory");
  const [message] = list.get.all.aiV7.ui();
  if (!message) return { id, role: role as ChatMessage["role"], parts: [] };
  const metadata = { ...(message.metadata as Record<string, unknown> | undefined) };
  for (const key of ["createdAt", "threadId", "resourceId"]) delete metadata[key];
  // Mastra's conversion leaves `key: undefined` behind; a client never sees those over JSON.
  const parts = message.parts.map((part) =>
    Object.fromEntries(Object.entries(part).filter(([, value]) => value !== undefined)),
  );
  const { metadata: _dropped, ...rest } = message;
  return (Object.keys(metadata).length > 0 ? { ...rest, parts, metadata } : { ...rest, parts }) as ChatMessage;
}

/**
 * How much of a message's text the keyword index keeps: its start, as for
 * embedding (PostgreSQL refuses a `tsvector` over 1 MB, and a long message's
 * keywords are rarely at its end).
 */
export const searchableTextLength = 100_000;

/**
 * SQL over a stored `content` column (`content`, or `NEW.content` in a trigger),
 * per dialect: true for an answer of a running turn, as {@link decodeMessage}
 * tells it for every row the bridge writes. The flag is the JSON's first key, so a prefix
 * match tells it without parsing the message (PostgreSQL's jsonb could not
 * parse one holding NUL anyway; triggers run this on every write, and SQLite
 * refuses JSON nested 1,000 deep). Only rows from before the flag (without
 * `partsFormat`, on libSQL) that mention the old status are parsed for it.
 */
export const runningPredicate = {
  libsql: (content = "content") =>
    `(CASE WHEN substr(${content}, 1, 16) = '{"running":true,' THEN 1
       WHEN instr(${content}, '"partsFormat":"${exactParts}"') > 0 OR instr(${content}, '"${legacyRunningStatus}"') = 0 THEN 0
       WHEN json_valid(${content}) THEN coalesce(json_extract(${content}, '$.metadata.status'), '') = '${legacyRunningStatus}'
       ELSE 0 END)`,
  postgres: (content = "content") => `(left(${content}, 16) = '{"running":true,')`,
} as const;
