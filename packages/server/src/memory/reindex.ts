import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { Client } from "@libsql/client";
import { LibSQLStore, LibSQLVector } from "@mastra/libsql";
import type { Embedder } from "./embedders/embedder.ts";
import { createLibsqlMessageStore } from "./libsql-message-store.ts";
import { writeMessageVectors } from "./message-vectors.ts";
import {
  deleteMeta,
  ensureLookupIndexes,
  ensureVectorMetaTables,
  indexInfoFor,
  readMeta,
  type VectorIndexInfo,
  writeMeta,
} from "./vector-index.ts";

export interface ReindexOptions {
  client: Client;
  url: string;
  authToken?: string | undefined;
  embedder: Embedder;
  /** Aborting stops after the current batch; running again resumes. */
  signal?: AbortSignal;
  onProgress?: (progress: { done: number; total: number }) => void;
  batchSize?: number;
}

export interface ReindexReport {
  embedderId: string;
  indexName: string;
  /** Messages embedded by this run (a resumed run counts only its own). */
  messages: number;
  total: number;
  /** True when the run finished and recall now uses the new vectors. */
  complete: boolean;
  /** The index the vectors replaced, dropped at the end; null when rebuilt in place. */
  replacedIndex: string | null;
}

interface ReindexState {
  target: VectorIndexInfo;
  /** The last message done, in (createdAt, id) order. */
  cursor: { createdAt: string; id: string } | null;
}

// Mastra's message table: reindexing walks every message in a stable order.
const messagesTable = "mastra_messages";

/**
 * Re-embeds every stored message with `embedder` into that embedder's own
 * vector table while the current one keeps serving recall, then switches the
 * recorded embedder and drops the old table. Progress is saved after every
 * batch: an interrupted run resumes where it stopped. Rebuilding with the
 * embedder already in use upserts in place.
 */
export async function reindexMemory(options: ReindexOptions): Promise<ReindexReport> {
  const { client, embedder } = options;
  const batchSize = options.batchSize ?? 64;
  await ensureVectorMetaTables(client);
  const storage = new LibSQLStore({ id: "session-bridge-reindex", client });
  await storage.init();
  const messages = createLibsqlMessageStore(client);
  const vector = new LibSQLVector({
    id: "session-bridge-reindex-vectors",
    url: options.url,
    authToken: options.authToken,
  });
  try {
    const target = indexInfoFor(embedder);
    const active = await readMeta<VectorIndexInfo>(client, "active");
    const saved = await readMeta<ReindexState>(client, "reindex");
    let state: ReindexState = saved?.target.indexName === target.indexName ? saved : { target, cursor: null };
    await vector.createIndex({ indexName: target.indexName, dimension: target.dimension });
    await ensureLookupIndexes(client, target.indexName);

    const total = await messages.countAll();
    let done = state.cursor ? await countUpTo(client, state.cursor) : 0;
    let embedded = 0;
    options.onProgress?.({ done, total });
    for (;;) {
      if (options.signal?.aborted) {
        return {
          embedderId: embedder.id,
          indexName: target.indexName,
          messages: embedded,
          total,
          complete: false,
          replacedIndex: null,
        };
      }
      const after = state.cursor && { createdAt: new Date(state.cursor.createdAt), key: state.cursor.id };
      const batch = await messages.scan({ after, limit: batchSize });
      const last = batch.at(-1);
      if (!last) break;
      await writeMessageVectors({ vector, index: target, embed: embedder.embed, messages: batch });
      state = { target, cursor: { createdAt: last.createdAt.toISOString(), id: last.key } };
      await writeMeta(client, "reindex", state);
      embedded += batch.length;
      done += batch.length;
      options.onProgress?.({ done, total: Math.max(total, done) });
      await yieldToEventLoop();
    }

    // Every message has a vector in the new table: switch recall over to it.
    await writeMeta(client, "active", target);
    await deleteMeta(client, "reindex");
    const replacedIndex = active && active.indexName !== target.indexName ? active.indexName : null;
    if (replacedIndex) await vector.deleteIndex({ indexName: replacedIndex });
    return {
      embedderId: embedder.id,
      indexName: target.indexName,
      messages: embedded,
      total,
      complete: true,
      replacedIndex,
    };
  } finally {
    await vector.close();
  }
}

async function countUpTo(client: Client, cursor: { createdAt: string; id: string }): Promise<number> {
  const result = await client.execute({
    sql: `SELECT count(*) AS count FROM ${messagesTable} WHERE ("createdAt", id) <= (?, ?)`,
    args: [cursor.createdAt, cursor.id],
  });
  return Number(result.rows[0]?.count ?? 0);
}
