import type { VectorIndexInfo, VectorStore } from "@session-bridge/core";
import type { Embedder } from "./embedders/embedder.ts";

/** Stops start-up: the configured embedder did not make the stored vectors. */
export class EmbedderMismatchError extends Error {
  constructor(
    readonly configured: { id: string; dimension: number },
    readonly stored: VectorIndexInfo,
  ) {
    super(
      `EMBEDDER is ${configured.id} (${configured.dimension} dimensions) but the stored vectors were made by ` +
        `${stored.embedderId} (${stored.dimension} dimensions); run \`session-bridge reindex\` to re-embed every message ` +
        `with ${configured.id}, or set EMBEDDER=${stored.embedderId}`,
    );
    this.name = "EmbedderMismatchError";
  }
}

/**
 * The vector table for an embedder. It starts with `memory_messages` so that
 * Mastra's own thread deletion also finds it; the embedder is part of the name
 * so that two embedders of one dimension never share a table.
 */
export function indexNameFor(embedderId: string, dimension: number): string {
  const slug = embedderId
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "");
  return `memory_messages_${slug}_${dimension}`;
}

export function indexInfoFor(embedder: Pick<Embedder, "id" | "dimension">): VectorIndexInfo {
  return {
    embedderId: embedder.id,
    dimension: embedder.dimension,
    indexName: indexNameFor(embedder.id, embedder.dimension),
  };
}

/**
 * The index the configured embedder writes to. The first start records the
 * embedder; a later start with another embedder stops with
 * {@link EmbedderMismatchError} until `session-bridge reindex` has run.
 */
export async function activeIndexFor(vectors: VectorStore, embedder: Embedder): Promise<VectorIndexInfo> {
  const wanted = indexInfoFor(embedder);
  const stored = await vectors.readMeta<VectorIndexInfo>("active");
  if (!stored) {
    await vectors.writeMeta("active", wanted);
    return wanted;
  }
  if (stored.embedderId !== wanted.embedderId || stored.dimension !== wanted.dimension) {
    throw new EmbedderMismatchError({ id: embedder.id, dimension: embedder.dimension }, stored);
  }
  return stored;
}
