import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { Client } from "@libsql/client";
import { LibSQLStore, LibSQLVector } from "@mastra/libsql";
import { Memory } from "@mastra/memory";
import type {
  Clock,
  ConversationMemory,
  IndexPendingOptions,
  MemoryStore,
  MessageStore,
  PendingMessage,
  RecalledMessage,
  RecallRequest,
  RecallResult,
  SaveMessagesRequest,
  Session,
  StoredMessage,
} from "@session-bridge/core";
import type { UIMessage } from "ai";
import type { Logger } from "pino";
import { queryOf } from "./embedded-text.ts";
import type { Embedder } from "./embedders/embedder.ts";
import { cachedEmbed } from "./embedding-cache.ts";
import { createEmbeddingScheduler } from "./embedding-scheduler.ts";
import { createLibsqlMessageStore } from "./libsql-message-store.ts";
import { writeMessageVectors } from "./message-vectors.ts";
import { toStoredId } from "./stored-ids.ts";
import { activeIndexFor, ensureLookupIndexes, ensureVectorMetaTables, type VectorIndexInfo } from "./vector-index.ts";

/** A pending row without its message is a save in progress for this long, then a crash's leftover. */
const pendingGraceMs = 60_000;

/** The recall settings of the product: Mastra's, fixed. */
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

/** A message with the time it was first stored, as export writes and import keeps it. */
export interface TimedMessage {
  message: UIMessage;
  createdAt: Date;
}

export interface MemoryBridge extends ConversationMemory {
  /** Mastra's Memory on the same storage, vectors and embedder. */
  mastra: Memory;
  vector: LibSQLVector;
  storage: LibSQLStore;
  index: VectorIndexInfo;
  /** The bridge's messages, for re-embedding them all. */
  messages: MessageStore;
  /**
   * The stored message with this client id and the message right after it (its
   * answer, when there is one, running answers included); `undefined` when the
   * session has no such message.
   */
  findWithNext(
    sessionId: string,
    resourceId: string,
    messageId: string,
  ): Promise<{ message: UIMessage; next: UIMessage | undefined } | undefined>;
  /** How many visible messages each session holds (sessions with none are left out). */
  countMessages(sessionIds: string[]): Promise<Map<string, number>>;
  /** The session's last `count` visible messages, oldest first. */
  lastMessages(sessionId: string, resourceId: string, count: number): Promise<UIMessage[]>;
  /** A session's messages with the times they were stored, oldest first; running answers left out. */
  listTimedMessages(sessionId: string, resourceId: string): Promise<TimedMessage[]>;
  /**
   * Stores messages of a session that are not stored yet, keeping their times,
   * for embedding by `indexPending`; returns how many were new.
   */
  importMessages(sessionId: string, resourceId: string, messages: TimedMessage[]): Promise<number>;
  /** Deletes messages of a session by client id, with their vectors. */
  deleteMessages(sessionId: string, resourceId: string, messageIds: string[]): Promise<void>;
  /**
   * Marks a turn as waiting for its answer until the returned function is
   * called: embedding that nobody waits for holds back meanwhile.
   */
  holdBackgroundWork(): () => void;
  close(): Promise<void>;
}

/**
 * Mastra Memory's storage and vectors behind the small interface a turn
 * needs. Messages live in Mastra's tables, written and read by the bridge's
 * {@link MessageStore} so that they come back exactly as they were saved;
 * vectors are written by the bridge with deterministic ids (so saving twice
 * never duplicates them) and with one embedding of the user message per turn.
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
  const messages = createLibsqlMessageStore(client);

  await ensureVectorMetaTables(client);
  const index = await activeIndexFor(client, embedder);
  await vector.createIndex({ indexName: index.indexName, dimension: index.dimension });
  await ensureLookupIndexes(client, index.indexName);
  const scheduler = createEmbeddingScheduler(embedder);
  const embed = cachedEmbed({ id: embedder.id, embed: scheduler.embed });
  const embedLater = (texts: string[]) => embed(texts, "background");

  async function recall(request: RecallRequest): Promise<RecallResult> {
    const { sessionId, resourceId } = request;
    const excluded = new Set((request.excludeMessageIds ?? []).map((id) => toStoredId(sessionId, id)));
    const query = queryOf(request.query);
    const [queryVector] = query ? await embed([query], "query") : [];

    const recentStored = (
      await messages.list(sessionId, resourceId, { last: recallSettings.lastMessages + excluded.size })
    )
      .filter((stored) => !excluded.has(stored.key))
      .slice(-recallSettings.lastMessages);
    const seen = new Set([...excluded, ...recentStored.map((stored) => stored.key)]);

    // Hits by stored key: messages of different sessions may share a client id.
    const hits = new Map<string, { sessionId: string; score: number }>();
    if (queryVector) {
      const results = await vector.query({
        indexName: index.indexName,
        queryVector,
        topK: recallSettings.topK,
        filter:
          request.scope === "session" ? { thread_id: sessionId, resource_id: resourceId } : { resource_id: resourceId },
      });
      for (const result of results) {
        const key = String(result.metadata?.message_id ?? "");
        // The filter already keeps other users out; checking again costs nothing.
        if (!key || seen.has(key) || result.metadata?.resource_id !== resourceId) continue;
        const previous = hits.get(key);
        if (!previous || previous.score < result.score) {
          hits.set(key, { sessionId: String(result.metadata?.thread_id), score: result.score });
        }
      }
    }

    const context = (await messages.around(resourceId, [...hits.keys()], recallSettings.messageRange)).filter(
      (stored) => !seen.has(stored.key),
    );
    const recalled: RecalledMessage[] = context.map((stored) => {
      const hit = hits.get(stored.key);
      return {
        message: stored.message,
        sessionId: stored.sessionId,
        score: hit?.score ?? nearestHitScore(stored, context, hits),
        hit: hit !== undefined,
      };
    });

    return {
      recent: recentStored.map((stored) => stored.message),
      recalled,
      memories: await options.memories.forSession(resourceId, sessionId),
    };
  }

  const storedIn = (sessionId: string, resourceId: string, timed: TimedMessage[]): StoredMessage[] =>
    timed.map(({ message, createdAt }) => ({
      key: toStoredId(sessionId, message.id),
      sessionId,
      resourceId,
      createdAt,
      message,
    }));

  async function save(request: SaveMessagesRequest): Promise<void> {
    const now = clock.now();
    // One millisecond apart, so that messages saved together keep their order.
    const stored = storedIn(
      request.sessionId,
      request.resourceId,
      request.messages.map((message, position) => ({ message, createdAt: new Date(now.getTime() + position) })),
    );
    await messages.save(stored, { pending: request.index === "later", now });
    if (request.index !== "later") await writeMessageVectors({ vector, index, embed: embedLater, messages: stored });
  }

  async function indexPending(request: IndexPendingOptions = {}): Promise<number> {
    const { resourceId, onProgress } = request;
    const total = onProgress ? await messages.countPending(resourceId) : 0;
    onProgress?.({ done: 0, total });
    let done = 0;
    let embedded = 0;
    let after: PendingMessage | null = null;
    const now = clock.now().getTime();
    for (;;) {
      // Keyset paging: rows left pending (a message still being saved) are passed over, not re-read.
      const rows = await messages.listPending({
        after,
        limit: 64,
        ...(resourceId === undefined ? {} : { resourceId }),
      });
      const last = rows.at(-1);
      if (!last) return embedded;
      after = last;
      const found = await messages.getByKeys(rows.map((row) => row.key));
      await writeMessageVectors({ vector, index, embed: embedLater, messages: found });
      // A session deleted while its messages were embedded takes their vectors with it.
      const kept = new Set((await messages.getByKeys(found.map((stored) => stored.key))).map((stored) => stored.key));
      await deleteVectorsWhere(
        "message_id",
        found.filter((stored) => !kept.has(stored.key)).map((stored) => stored.key),
      );
      const foundKeys = new Set(found.map((stored) => stored.key));
      // Done: rows whose message was embedded as read (a newer save renewed its row
      // and stays pending), and rows of messages that never came (a crash between
      // the row and the save), once they are old enough not to be a save in progress.
      await messages.clearPending(rows.filter((row) => foundKeys.has(row.key) || row.savedAt < now - pendingGraceMs));
      embedded += found.length;
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
      indexNames.map((name) => ({
        sql: `DELETE FROM ${name} WHERE json_extract(metadata, '$."${key}"') IN (${placeholders})`,
        args: values,
      })),
      "write",
    );
  }

  return {
    mastra,
    vector,
    storage,
    index,
    messages,
    recall,
    save,
    indexPending,

    async findWithNext(sessionId, resourceId, messageId) {
      const found = await messages.findWithNext(sessionId, resourceId, messageId);
      return found && { message: found.message.message, next: found.next?.message };
    },

    countMessages: (sessionIds) => messages.count(sessionIds),

    async lastMessages(sessionId, resourceId, count) {
      return (await messages.list(sessionId, resourceId, { last: count })).map((stored) => stored.message);
    },

    async listMessages(sessionId, resourceId, listOptions = {}) {
      return (await messages.list(sessionId, resourceId, listOptions)).map((stored) => stored.message);
    },

    async listTimedMessages(sessionId, resourceId) {
      return (await messages.list(sessionId, resourceId)).map(({ message, createdAt }) => ({ message, createdAt }));
    },

    async importMessages(sessionId, resourceId, timed) {
      const stored = storedIn(sessionId, resourceId, timed);
      const existing = new Set((await messages.getByKeys(stored.map((item) => item.key))).map((item) => item.key));
      const fresh = stored.filter((item) => !existing.has(item.key));
      await messages.save(fresh, { pending: true, now: clock.now() });
      return fresh.length;
    },

    async deleteMessages(sessionId, _resourceId, messageIds) {
      await deleteVectorsWhere(
        "message_id",
        messageIds.map((id) => toStoredId(sessionId, id)),
      );
      await messages.delete(sessionId, messageIds);
    },

    async createThread(session: Session) {
      await messages.createThread({
        id: session.id,
        resourceId: session.resourceId,
        title: session.title ?? "",
        createdAt: session.createdAt,
      });
    },

    async deleteThread(session: Session) {
      await deleteVectorsWhere("thread_id", [session.id]);
      await messages.deleteSession(session.id);
      logger.debug({ sessionId: session.id }, "memory thread deleted");
    },

    holdBackgroundWork: () => scheduler.hold(),

    async close() {
      await vector.close();
    },
  };
}

/** A neighbour takes the score of the nearest hit in its own session. */
function nearestHitScore(
  message: StoredMessage,
  context: StoredMessage[],
  hits: Map<string, { sessionId: string; score: number }>,
): number {
  const position = context.indexOf(message);
  let best: { distance: number; score: number } | undefined;
  context.forEach((candidate, index) => {
    const hit = hits.get(candidate.key);
    if (!hit || candidate.sessionId !== message.sessionId) return;
    const distance = Math.abs(index - position);
    if (!best || distance < best.distance) best = { distance, score: hit.score };
  });
  return best?.score ?? 0;
}
