import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { MessageStore, VectorIndexInfo, VectorStore } from "@session-bridge/core";
import type { Embedder } from "./embedders/embedder.ts";
import { writeMessageVectors } from "./message-vectors.ts";
import { indexInfoFor } from "./vector-index.ts";

export interface ReindexOptions {
  messages: MessageStore;
  vectors: VectorStore;
  embedder: Embedder;
  /** Aborting stops after the current batch; running again resumes. */
  signal?: AbortSignal;
  /**
   * After each batch (`embedding`), and once before the index is built over
   * the vectors (`indexing`; not for a store with no messages, where there is
   * nothing to build).
   */
  onProgress?: (progress: { done: number; total: number; phase: "embedding" | "indexing" }) => void;
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
  /** The last message done, in (createdAt, key) order. */
  cursor: { createdAt: string; id: string } | null;
}

/**
 * Re-embeds every stored message with `embedder` into that embedder's own
 * vector index while the current one keeps serving recall, then switches the
 * recorded embedder and drops the old index. Progress is saved after every
 * batch: an interrupted run resumes where it stopped. Rebuilding with the
 * embedder already in use upserts in place, and remakes an index made with
 * older search settings.
 *
 * @example
 * const report = await reindexMemory({ messages, vectors, embedder, onProgress: console.log });
 */
export async function reindexMemory(options: ReindexOptions): Promise<ReindexReport> {
  const { messages, vectors, embedder } = options;
  const batchSize = options.batchSize ?? 64;
  const target = indexInfoFor(embedder);
  const active = await vectors.readMeta<VectorIndexInfo>("active");
  const saved = await vectors.readMeta<ReindexState>("reindex");
  let state: ReindexState = saved?.target.indexName === target.indexName ? saved : { target, cursor: null };
  // Every vector is written again: an index made with older search settings is
  // rebuilt (on libSQL, left out until the last vector is written, then built).
  await vectors.ensureIndex(target, { rebuild: "begin" });

  const cursorOf = (current: ReindexState) =>
    current.cursor && { createdAt: new Date(current.cursor.createdAt), key: current.cursor.id };
  const total = await messages.countAll();
  const resumedAt = cursorOf(state);
  let done = resumedAt ? await messages.countAll(resumedAt) : 0;
  let embedded = 0;
  options.onProgress?.({ done, total, phase: "embedding" });
  const report = (complete: boolean, replacedIndex: string | null): ReindexReport => ({
    embedderId: embedder.id,
    indexName: target.indexName,
    messages: embedded,
    total,
    complete,
    replacedIndex,
  });
  for (;;) {
    if (options.signal?.aborted) return report(false, null);
    const batch = await messages.scan({ after: cursorOf(state), limit: batchSize });
    const last = batch.at(-1);
    if (!last) break;
    await writeMessageVectors({
      vectors,
      indexName: target.indexName,
      embed: (texts) => embedder.embed(texts),
      messages: batch,
    });
    state = { target, cursor: { createdAt: last.createdAt.toISOString(), id: last.key } };
    await vectors.writeMeta("reindex", state);
    embedded += batch.length;
    done += batch.length;
    options.onProgress?.({ done, total: Math.max(total, done), phase: "embedding" });
    await yieldToEventLoop();
  }

  // Every message has a vector in the new index: its search structure complete, recall switches over to it.
  if (done > 0) options.onProgress?.({ done, total: Math.max(total, done), phase: "indexing" });
  await vectors.ensureIndex(target, { rebuild: "end" });
  await vectors.writeMeta("active", target);
  await vectors.deleteMeta("reindex");
  const replacedIndex = active && active.indexName !== target.indexName ? active.indexName : null;
  if (replacedIndex) await vectors.dropIndex(replacedIndex);
  return report(true, replacedIndex);
}
