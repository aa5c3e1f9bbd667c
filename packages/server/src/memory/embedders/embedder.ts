import type { MastraSupportedEmbeddingModel } from "@mastra/core/vector";

/** An embedding model Mastra accepts (AI SDK specification v2 or v3). */
export type EmbeddingModel = MastraSupportedEmbeddingModel<string>;

/** An embedder ready to use: the model plus what the vectors record about it. */
export interface Embedder {
  /** `provider:model`, as configured (`EMBEDDER`). Recorded with the vectors. */
  id: string;
  /** Length of every vector it makes. Recorded with the vectors. */
  dimension: number;
  model: EmbeddingModel;
  /** Embeds texts in order; one vector per text. */
  embed(texts: string[]): Promise<number[][]>;
  /**
   * How many `embed` calls may usefully run at once (one per worker thread). Set only by
   * embedders that compute off the calling thread; unset means 1, on this thread.
   */
  concurrency?: number;
  /** Frees what it holds (worker threads), after the calls in flight. */
  close?(): Promise<void>;
}

/** Builds an {@link Embedder} around a v3 `doEmbed`. */
export function defineEmbedder(options: {
  id: string;
  dimension: number;
  maxEmbeddingsPerCall: number;
  embed: (texts: string[]) => Promise<number[][]>;
}): Embedder {
  const [provider = "local", modelId = options.id] = options.id.split(/:(.*)/s);
  const model: EmbeddingModel = {
    specificationVersion: "v3",
    provider,
    modelId,
    maxEmbeddingsPerCall: options.maxEmbeddingsPerCall,
    supportsParallelCalls: false,
    async doEmbed({ values }) {
      return { embeddings: await options.embed(values), warnings: [] };
    },
  };
  return { id: options.id, dimension: options.dimension, model, embed: options.embed };
}
