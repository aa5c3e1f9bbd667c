import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { Client } from "@libsql/client";
import type { MastraDBMessage } from "@mastra/core/agent/message-list";
import { LibSQLStore, LibSQLVector } from "@mastra/libsql";
import { Memory } from "@mastra/memory";
import type {
  Clock,
  ConversationMemory,
  IndexPendingOptions,
  MemoryStore,
  RecalledMessage,
  RecallRequest,
  RecallResult,
  SaveMessagesRequest,
  Session,
} from "@session-bridge/core";
import type { UIMessage } from "ai";
import type { Logger } from "pino";
import type { Embedder } from "./embedders/embedder.ts";
import { cachedEmbed } from "./embedding-cache.ts";
import { toStoredMessages, toUiMessages } from "./message-format.ts";
import { writeMessageVectors } from "./message-vectors.ts";
import { fromStoredId, toStoredId } from "./stored-ids.ts";
import {
  activeIndexFor,
  ensureLookupIndexes,
  ensureVectorMetaTables,
  pendingTable,
  type VectorIndexInfo,
} from "./vector-index.ts";

/** The recall settings of the product: Mastra's, fixed. */
/** A pending row without its message is a save in progress for this long, then a crash's leftover. */
const pendingGraceMs = 60_000;

export const recallSettings = { lastMessages: 10, topK: 4, messageRange: 2 } as const;

export interface MemoryBridgeOptions {
  /** The memory database's client, shared with Mastra's storage. */
  client: Client;
  /** The same database by URL, for Mastra's vector store (which opens its own client). */
  url: string;
  authToken?: string | undefined;
  embedder: Embedder;
  memories: MemoryStore;
  clock: Clock;
  logger: Logger;
}

export interface MemoryBridge extends ConversationMemory {
  /** Mastra's Memory on the same storage, vectors and embedder. */
  mastra: Memory;
  vector: LibSQLVector;
  storage: LibSQLStore;
  index: VectorIndexInfo;
  /**
   * The stored message with this client id and the message right after it (its
   * answer, when there is one); `undefined` when the session has no such message.
   */
  findWithNext(
    sessionId: string,
    resourceId: string,
    messageId: string,
  ): Promise<{ message: UIMessage; next: UIMessage | undefined } | undefined>;
  /** How many messages each session holds (sessions with none are left out). */
  countMessages(sessionIds: string[]): Promise<Map<string, number>>;
  /** The session's last `count` messages, oldest first. */
  lastMessages(sessionId: string, resourceId: string, count: number): Promise<UIMessage[]>;
  /** Deletes messages of a session by client id, with their vectors. */
  deleteMessages(sessionId: string, resourceId: string, messageIds: string[]): Promise<void>;
  /** Embeds and writes vectors for stored messages into `index` (default: the active one). */
  indexStoredMessages(
    messages: MastraDBMessage[],
    options?: { index?: VectorIndexInfo; embedder?: Embedder },
  ): Promise<void>;
  close(): Promise<void>;
}

/**
 * Mastra Memory (LibSQLStore + LibSQLVector) behind the small interface a turn
 * needs. Messages are stored by Mastra; vectors are written by the bridge with
 * deterministic ids (so saving twice never duplicates them) and with one
 * embedding of the user message per turn.
 *
 * @example
 * const bridge = await createMemoryBridge({ client, url, embedder, memories, clock, logger });
 * const recall = await bridge.recall({ sessionId, resourceId, query: "what did we decide about retries?" });
 */
export async function createMemoryBridge(options: MemoryBridgeOptions): Promise<MemoryBridge> {
  const { client, embedder, clock, logger } = options;
  const storage = new LibSQLStore({ id: "session-bridge-memory", client });
  await storage.init();
  const vector = new LibSQLVector({ id: "session-bridge-vectors", url: options.url, authToken: options.authToken });
  const mastra = new Memory({
    storage,
    vector,
    embedder: embedder.model,
    options: {
      lastMessages: recallSettings.lastMessages,
      semanticRecall: { topK: recallSettings.topK, messageRange: recallSettings.messageRange, scope: "resource" },
    },
  });
  const memoryDomain = await storage.getStore("memory");
  if (!memoryDomain) throw new Error("Mastra's LibSQLStore has no memory domain");
  const messages = memoryDomain;

  await ensureVectorMetaTables(client);
  const index = await activeIndexFor(client, embedder);
  await vector.createIndex({ indexName: index.indexName, dimension: index.dimension });
  await ensureLookupIndexes(client, index.indexName);
  const embed = cachedEmbed(embedder);

  async function indexStoredMessages(
    stored: MastraDBMessage[],
    target: { index?: VectorIndexInfo; embedder?: Embedder } = {},
  ): Promise<void> {
    await writeMessageVectors({
      vector,
      index: target.index ?? index,
      embed: target.embedder ? target.embedder.embed : embed,
      messages: stored,
    });
  }

  async function recall(request: RecallRequest): Promise<RecallResult> {
    const { sessionId, resourceId } = request;
    const excluded = new Set((request.excludeMessageIds ?? []).map((id) => toStoredId(sessionId, id)));
    const query = request.query.trim();
    const [queryVector] = query ? await embed([query]) : [];
    const scopeFilter =
      request.scope === "session" ? { thread_id: sessionId, resource_id: resourceId } : { resource_id: resourceId };

    const recentPage = await messages.listMessages({
      threadId: sessionId,
      resourceId,
      perPage: recallSettings.lastMessages + excluded.size,
      orderBy: { field: "createdAt", direction: "DESC" },
    });
    const recentStored = recentPage.messages
      .filter((message) => !excluded.has(message.id))
      .slice(0, recallSettings.lastMessages)
      .reverse();
    const seen = new Set([...excluded, ...recentStored.map((message) => message.id)]);

    const hits = new Map<string, { threadId: string; score: number }>();
    if (queryVector) {
      const results = await vector.query({
        indexName: index.indexName,
        queryVector,
        topK: recallSettings.topK,
        filter: scopeFilter,
      });
      for (const result of results) {
        const messageId = String(result.metadata?.message_id ?? "");
        // The filter already keeps other users out; checking again costs nothing.
        if (!messageId || seen.has(messageId) || result.metadata?.resource_id !== resourceId) continue;
        const previous = hits.get(messageId);
        if (!previous || previous.score < result.score) {
          hits.set(messageId, { threadId: String(result.metadata?.thread_id), score: result.score });
        }
      }
    }

    let recalled: RecalledMessage[] = [];
    if (hits.size > 0) {
      const around = await messages.listMessages({
        threadId: sessionId,
        resourceId,
        perPage: 0,
        include: [...hits].map(([id, hit]) => ({
          id,
          threadId: hit.threadId,
          withPreviousMessages: recallSettings.messageRange,
          withNextMessages: recallSettings.messageRange,
        })),
      });
      const context = around.messages
        .filter((message) => !seen.has(message.id))
        .sort((a, b) => new Date(a.createdAt).getTime() - new Date(b.createdAt).getTime());
      const uiMessages = toUiMessages(context.map((message) => withClientId(message)));
      recalled = context.map((message, position) => {
        const hit = hits.get(message.id);
        return {
          message: uiMessages[position] as RecalledMessage["message"],
          sessionId: message.threadId ?? "",
          score: hit?.score ?? nearestHitScore(message, context, hits),
          hit: hit !== undefined,
        };
      });
    }

    return {
      recent: toUiMessages(recentStored.map((message) => withClientId(message))),
      recalled,
      memories: await options.memories.forSession(resourceId, sessionId),
    };
  }

  async function save(request: SaveMessagesRequest): Promise<void> {
    const { sessionId, resourceId } = request;
    const stored = toStoredMessages(
      request.messages.map((message) => ({ ...message, id: toStoredId(sessionId, message.id) })),
      { threadId: sessionId, resourceId, start: clock.now() },
    );
    if (request.index === "later") {
      // Before the messages themselves: a crash in between leaves a pending row
      // that indexPending() drops, never a message that is silently unsearchable.
      await client.batch(
        stored.map((message) => ({
          // A newer save of the same message (the next step, the final answer)
          // renews the row, so an indexer that read the older text keeps it pending.
          sql: `INSERT INTO ${pendingTable} (message_id, thread_id, resource_id, created_at) VALUES (?, ?, ?, ?) ON CONFLICT(message_id) DO UPDATE SET created_at = max(excluded.created_at, created_at + 1)`,
          args: [message.id, sessionId, resourceId, clock.now().getTime()],
        })),
        "write",
      );
    }
    await mastra.saveMessages({ messages: stored, memoryConfig: { semanticRecall: false } });
    if (request.index !== "later") await indexStoredMessages(stored);
  }

  async function indexPending(request: IndexPendingOptions = {}): Promise<number> {
    const { resourceId, onProgress } = request;
    const scope = resourceId === undefined ? "" : "resource_id = ?";
    const args = resourceId === undefined ? [] : [resourceId];
    let total = 0;
    if (onProgress) {
      const counted = await client.execute({
        sql: `SELECT count(*) AS total FROM ${pendingTable} ${scope ? `WHERE ${scope}` : ""}`,
        args,
      });
      total = Number(counted.rows[0]?.total ?? 0);
      onProgress({ done: 0, total });
    }
    let done = 0;
    let embedded = 0;
    let after = { createdAt: -1, messageId: "" };
    const now = clock.now().getTime();
    for (;;) {
      // Keyset paging: rows left pending (a message still being saved) are passed over, not re-read.
      const pending = await client.execute({
        sql: `SELECT message_id, created_at FROM ${pendingTable} WHERE (created_at, message_id) > (?, ?) ${scope ? `AND ${scope}` : ""} ORDER BY created_at, message_id LIMIT 64`,
        args: [after.createdAt, after.messageId, ...args],
      });
      const rows = pending.rows.map((row) => ({
        messageId: String(row.message_id),
        createdAt: Number(row.created_at),
      }));
      const last = rows.at(-1);
      if (!last) return embedded;
      after = last;
      const found = await messages.listMessagesById({ messageIds: rows.map((row) => row.messageId) });
      await indexStoredMessages(found.messages);
      const foundIds = new Set(found.messages.map((message) => message.id));
      // Done: rows whose message was embedded as read (a newer save renewed its row
      // and stays pending), and rows of messages that never came (a crash between
      // the row and the save), once they are old enough not to be a save in progress.
      const finished = rows.filter((row) => foundIds.has(row.messageId) || row.createdAt < now - pendingGraceMs);
      if (finished.length > 0) {
        await client.batch(
          finished.map((row) => ({
            sql: `DELETE FROM ${pendingTable} WHERE message_id = ? AND created_at = ?`,
            args: [row.messageId, row.createdAt],
          })),
          "write",
        );
      }
      embedded += found.messages.length;
      done += rows.length;
      onProgress?.({ done: Math.min(done, total), total: Math.max(done, total) });
      await yieldToEventLoop();
    }
  }

  async function deleteVectorsWhere(key: "thread_id" | "message_id", values: string[]): Promise<void> {
    if (values.length === 0) return;
    const indexNames = (await vector.listIndexes()).filter((name) => name.startsWith("memory_messages"));
    const placeholders = values.map(() => "?").join(", ");
    await client.batch(
      [
        ...indexNames.map((name) => ({
          sql: `DELETE FROM ${name} WHERE json_extract(metadata, '$."${key}"') IN (${placeholders})`,
          args: values,
        })),
        {
          sql: `DELETE FROM ${pendingTable} WHERE ${key === "thread_id" ? "thread_id" : "message_id"} IN (${placeholders})`,
          args: values,
        },
      ],
      "write",
    );
  }

  return {
    mastra,
    vector,
    async findWithNext(sessionId, resourceId, messageId) {
      const page = await messages.listMessages({
        threadId: sessionId,
        resourceId,
        perPage: 0,
        include: [{ id: toStoredId(sessionId, messageId), threadId: sessionId, withNextMessages: 1 }],
      });
      const stored = page.messages.filter((message) => message.threadId === sessionId);
      const position = stored.findIndex((message) => message.id === toStoredId(sessionId, messageId));
      if (position === -1) return undefined;
      const [message, next] = toUiMessages(stored.slice(position, position + 2).map((item) => withClientId(item)));
      return message ? { message, next } : undefined;
    },
    async countMessages(sessionIds) {
      if (sessionIds.length === 0) return new Map();
      const result = await client.execute({
        sql: `SELECT thread_id, count(*) AS count FROM mastra_messages WHERE thread_id IN (${sessionIds.map(() => "?").join(", ")}) GROUP BY thread_id`,
        args: sessionIds,
      });
      return new Map(result.rows.map((row) => [String(row.thread_id), Number(row.count)]));
    },
    async lastMessages(sessionId, resourceId, count) {
      const page = await messages.listMessages({
        threadId: sessionId,
        resourceId,
        perPage: count,
        orderBy: { field: "createdAt", direction: "DESC" },
      });
      return toUiMessages(page.messages.reverse().map((message) => withClientId(message)));
    },
    async deleteMessages(sessionId, _resourceId, messageIds) {
      const storedIds = messageIds.map((id) => toStoredId(sessionId, id));
      await deleteVectorsWhere("message_id", storedIds);
      await messages.deleteMessages(storedIds);
    },
    storage,
    index,
    indexStoredMessages,
    recall,
    save,
    indexPending,

    async createThread(session: Session) {
      await mastra.saveThread({
        thread: {
          id: session.id,
          resourceId: session.resourceId,
          title: session.title ?? "",
          createdAt: session.createdAt,
          updatedAt: session.createdAt,
          metadata: {},
        },
      });
    },

    async listMessages(sessionId, resourceId) {
      const page = await messages.listMessages({
        threadId: sessionId,
        resourceId,
        perPage: false,
        orderBy: { field: "createdAt", direction: "ASC" },
      });
      return toUiMessages(page.messages.map((message) => withClientId(message)));
    },

    async deleteThread(session: Session) {
      await deleteVectorsWhere("thread_id", [session.id]);
      await messages.deleteThread({ threadId: session.id });
      logger.debug({ sessionId: session.id }, "memory thread deleted");
    },

    async close() {
      await vector.close();
    },
  };
}

function withClientId(message: MastraDBMessage): MastraDBMessage {
  return { ...message, id: fromStoredId(message.id) };
}

/** A neighbour takes the score of the nearest hit in its own session. */
function nearestHitScore(
  message: MastraDBMessage,
  context: MastraDBMessage[],
  hits: Map<string, { threadId: string; score: number }>,
): number {
  const position = context.indexOf(message);
  let best: { distance: number; score: number } | undefined;
  context.forEach((candidate, index) => {
    const hit = hits.get(candidate.id);
    if (!hit || candidate.threadId !== message.threadId) return;
    const distance = Math.abs(index - position);
    if (!best || distance < best.distance) best = { distance, score: hit.score };
  });
  return best?.score ?? 0;
}
