import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import {
  type Clock,
  type ConversationMemory,
  keywordTerms,
  type MemoryStore,
  type MessageStore,
  type RecalledMessage,
  type RecallRequest,
  type RecallResult,
  type SaveMessagesRequest,
  type Session,
  type StoredMessage,
  type VectorIndexInfo,
  type VectorStore,
} from "@session-bridge/core";
import type { ChatMessage, RecallChannel } from "@session-bridge/shared";
import type { Logger } from "pino";
import { queryOf } from "./embedded-text.ts";
import type { Embedder } from "./embedders/embedder.ts";
import { cachedEmbed } from "./embedding-cache.ts";
import { createEmbeddingScheduler } from "./embedding-scheduler.ts";
import { fuseHits } from "./fuse-hits.ts";
import { writeMessageVectors } from "./message-vectors.ts";
import { createPendingIndexer } from "./pending-indexer.ts";
import { toStoredId } from "./stored-ids.ts";
import { activeIndexFor } from "./vector-index.ts";

/** The recall settings of the product: Mastra's, fixed. */
export const recallSettings = { lastMessages: 10, topK: 4, messageRange: 2 } as const;

export interface MemoryBridgeOptions {
  /** Mastra Memory's storage (messages) and vector store, through their ports. */
  messages: MessageStore;
  vectors: VectorStore;
  embedder: Embedder;
  memories: MemoryStore;
  clock: Clock;
  logger: Logger;
  /** Search messages by their keywords too, fused with the vector hits (default true; benchmarks compare). */
  keywordChannel?: boolean;
}

/** A message with the time it was first stored, as export writes and import keeps it. */
export interface TimedMessage {
  message: ChatMessage;
  createdAt: Date;
}

export interface MemoryBridge extends ConversationMemory {
  /** The vector index recall searches (the active embedder's). */
  index: VectorIndexInfo;
  /**
   * The stored message with this client id and the message right after it (its
   * answer, when there is one, running answers included); `undefined` when the
   * session has no such message.
   */
  findWithNext(
    sessionId: string,
    resourceId: string,
    messageId: string,
  ): Promise<{ message: ChatMessage; next: ChatMessage | undefined } | undefined>;
  /** One read: `findWithNext` of the message, and the session's newest visible message. */
  findWithNextAndLast(
    sessionId: string,
    resourceId: string,
    messageId: string,
  ): Promise<{
    found: { message: ChatMessage; next: ChatMessage | undefined } | undefined;
    last: ChatMessage | undefined;
  }>;
  /** How many visible messages each session holds (sessions with none are left out). */
  countMessages(sessionIds: string[]): Promise<Map<string, number>>;
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
   * Starts embedding a new message's recall query for the user ahead of
   * `recall`, which then finds it in flight or done (a turn asks while its
   * session is being resolved). A failure is left for `recall` to meet: it
   * gets the same error while the embedding is in flight, and embeds again
   * after.
   */
  prepareRecall(query: string, resourceId: string): void;
  /**
   * Marks a turn as waiting for its answer until the returned function is
   * called: embedding that nobody waits for holds back meanwhile.
   */
  holdBackgroundWork(): () => void;
  /** Query texts of turns waiting for the embedder. */
  embeddingBacklog(): number;
  close(): Promise<void>;
}

/**
 * Mastra Memory's storage and vectors behind the small interface a turn
 * needs, through the {@link MessageStore} and {@link VectorStore} ports (one
 * adapter per backend). Messages come back exactly as they were saved;
 * vectors are written with deterministic ids (so saving twice never
 * duplicates them) and with one embedding of the user message per turn.
 *
 * @example
 * const bridge = await createMemoryBridge({ messages, vectors, embedder, memories, clock, logger });
 * const recall = await bridge.recall({ sessionId, resourceId, query: "what did we decide about retries?" });
 */
export async function createMemoryBridge(options: MemoryBridgeOptions): Promise<MemoryBridge> {
  const { messages, vectors, embedder, clock, logger } = options;
  const index = await activeIndexFor(vectors, embedder);
  if ((await vectors.ensureIndex(index)).outdated) {
    logger.warn(
      { indexName: index.indexName },
      "the vector index has older search settings, or a reindex did not finish (recall is slower meanwhile); `session-bridge reindex` rebuilds it",
    );
  }
  const scheduler = createEmbeddingScheduler(embedder);
  const embed = cachedEmbed({ id: embedder.id, embed: scheduler.embed });
  /** Background embedding of texts of several users (`scopes`, one per text): one cache call per user. */
  const embedLater = async (texts: string[], scopes: string[]) => {
    const vectors: number[][] = new Array(texts.length);
    const byScope = Map.groupBy(texts.keys(), (position) => scopes[position] as string);
    await Promise.all(
      [...byScope].map(async ([scope, positions]) => {
        const embedded = await embed(
          positions.map((position) => texts[position] as string),
          "background",
          scope,
        );
        positions.forEach((position, index) => {
          vectors[position] = embedded[index] as number[];
        });
      }),
    );
    return vectors;
  };

  async function recall(request: RecallRequest): Promise<RecallResult> {
    const { sessionId, resourceId } = request;
    const exclude = (request.excludeMessageIds ?? []).map((id) => toStoredId(sessionId, id));
    const query = queryOf(request.query);
    const scope = request.scope === "session" ? { sessionId } : {};
    const { topK } = recallSettings;
    // The turn's new message and the session's newest ones are in the turn already: never hits.
    const exclusions = { exclude, newestOf: { sessionId, last: recallSettings.lastMessages } };
    // The keyword channel is a help, not a need: a failed search leaves recall to the vectors.
    const terms = options.keywordChannel === false ? [] : keywordTerms(query);
    const keywordHits =
      terms.length > 0
        ? messages.searchText({ resourceId, terms, topK, ...exclusions, ...scope }).catch((error: unknown) => {
            logger.warn({ err: error, sessionId }, "keyword search failed; recalling by meaning alone");
            return [];
          })
        : [];
    const embedding = query ? embed([query], "query", resourceId) : undefined;
    // The user's and the session's memories are read while the query is embedded (awaited at
    // the end); asked after the embedding, which a read on this thread would otherwise delay.
    const memories = options.memories.forSession(resourceId, sessionId);
    memories.catch(() => undefined);
    const found = (async () => {
      const [queryVector] = embedding ? await embedding : [];
      const vectorHits = queryVector
        ? await vectors.query(index.indexName, queryVector, { topK, resourceId, exclusions, ...scope })
        : [];
      return { queryVector, results: fuseHits(vectorHits, await keywordHits, topK) };
    })();
    // The window is asked now: the session's newest messages are read while the query is
    // embedded, the hits' neighbours once they are found (the store leaves out hits among the
    // newest, and neighbours already seen). Awaited below, after the hits are scored. Asked
    // once the search is on its way (an embedded file's reader runs on this thread): an
    // embedding already made would otherwise wait behind the read.
    const hitKeys = found.then(({ results }) => results.map((result) => result.key));
    const window = yieldToEventLoop().then(() =>
      messages.recallWindow({
        sessionId,
        resourceId,
        last: recallSettings.lastMessages,
        exclude,
        hits: hitKeys,
        range: recallSettings.messageRange,
      }),
    );
    // Failures reach the caller through `found` and `window`, awaited below.
    for (const pending of [hitKeys, window]) pending.catch(() => undefined);
    const { queryVector, results } = await found;
    // A hit only the keyword channel found is scored like the others: its cosine similarity to the query.
    const unscored = results.flatMap((result) => (result.score === undefined ? [result.key] : []));
    const similarity =
      queryVector && unscored.length > 0
        ? await vectors.similarity(index.indexName, queryVector, unscored, resourceId).catch((error: unknown) => {
            logger.warn({ err: error, sessionId }, "scoring keyword hits failed; they score 0");
            return new Map<string, number>();
          })
        : new Map<string, number>();
    const { last, around } = await window;

    // Hits by stored key (messages of different sessions may share a client id). A message
    // not embedded yet (its vectors come after its turn) scores 0.
    const hits = new Map<string, { score: number; foundBy: RecallChannel[] }>(
      results.map((result) => [
        result.key,
        { score: result.score ?? similarity.get(result.key) ?? 0, foundBy: result.foundBy },
      ]),
    );

    const recalled: RecalledMessage[] = around.map((stored) => {
      const hit = hits.get(stored.key);
      return {
        message: stored.message,
        sessionId: stored.sessionId,
        score: hit?.score ?? nearestHitScore(stored, around, hits),
        foundBy: hit?.foundBy ?? [],
      };
    });

    return {
      recent: last.map((stored) => stored.message),
      recalled,
      memories: await memories,
    };
  }

  const storedIn = (sessionId: string, resourceId: string, timed: TimedMessage[], running = false): StoredMessage[] =>
    timed.map(({ message, createdAt }) => ({
      key: toStoredId(sessionId, message.id),
      sessionId,
      resourceId,
      createdAt,
      message,
      ...(running ? { running } : {}),
    }));

  async function save(request: SaveMessagesRequest): Promise<void> {
    const now = clock.now();
    // One millisecond apart, so that messages saved together keep their order.
    const stored = storedIn(
      request.sessionId,
      request.resourceId,
      request.messages.map((message, position) => ({ message, createdAt: new Date(now.getTime() + position) })),
      request.running,
    );
    await messages.save(stored, { pending: request.index === "later", now });
    if (request.index !== "later")
      await writeMessageVectors({ vectors, indexName: index.indexName, embed: embedLater, messages: stored });
  }

  const { indexPending } = createPendingIndexer({
    messages,
    vectors,
    indexName: index.indexName,
    embed: embedLater,
    clock,
  });

  return {
    index,
    recall,
    save,
    indexPending,

    async findWithNext(sessionId, resourceId, messageId) {
      const found = await messages.findWithNext(sessionId, resourceId, messageId);
      return found && { message: found.message.message, next: found.next?.message };
    },

    async findWithNextAndLast(sessionId, resourceId, messageId) {
      const { found, last } = await messages.findWithNextAndLast(sessionId, resourceId, messageId);
      return { found: found && { message: found.message.message, next: found.next?.message }, last: last?.message };
    },

    countMessages: (sessionIds) => messages.count(sessionIds),

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
      await vectors.deleteForMessages(messageIds.map((id) => toStoredId(sessionId, id)));
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
      // Messages first: a pending pass embedding them meanwhile checks, after writing their vectors,
      // that they still exist (and deletes the vectors if not); vectors it wrote before that check
      // go with these, deleted after the messages.
      await messages.deleteSession(session.id);
      await vectors.deleteForSessions([session.id]);
      logger.debug({ sessionId: session.id }, "memory thread deleted");
    },

    prepareRecall(text, resourceId) {
      const query = queryOf(text);
      if (query) embed([query], "query", resourceId).catch(() => undefined);
    },

    holdBackgroundWork: () => scheduler.hold(),
    embeddingBacklog: () => scheduler.queuedQueries(),

    async close() {
      await vectors.close();
    },
  };
}

/** A neighbour takes the score of the nearest hit in its own session. */
function nearestHitScore(
  message: StoredMessage,
  context: StoredMessage[],
  hits: Map<string, { score: number }>,
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
