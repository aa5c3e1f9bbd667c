import { defineEmbedder, type Embedder } from "./embedder.ts";

/** What `ai@7` providers make: specification v4. */
interface EmbeddingModelV4Like {
  readonly specificationVersion: string;
  readonly provider: string;
  readonly modelId: string;
  readonly maxEmbeddingsPerCall: PromiseLike<number | undefined> | number | undefined;
  doEmbed(options: { values: string[] }): PromiseLike<{ embeddings: number[][] }>;
}

/**
 * Wraps an AI SDK 7 embedding model (specification v4) as the v3 model Mastra
 * accepts: the call and result shapes are the same, only the label differs.
 * The dimension is learnt from one probe embedding at start.
 */
export async function embedderFromProvider(id: string, model: EmbeddingModelV4Like): Promise<Embedder> {
  const maxPerCall = (await model.maxEmbeddingsPerCall) ?? 96;
  const embed = async (texts: string[]) => {
    const vectors: number[][] = [];
    for (let start = 0; start < texts.length; start += maxPerCall) {
      const result = await model.doEmbed({ values: texts.slice(start, start + maxPerCall) });
      vectors.push(...result.embeddings);
    }
    return vectors;
  };
  const [probe] = await embed(["dimension probe"]);
  if (!probe?.length) throw new Error(`embedder ${id} returned no vector for a probe text`);
  return defineEmbedder({ id, dimension: probe.length, maxEmbeddingsPerCall: maxPerCall, embed });
}
