import type { EmbedPriority } from "./embedding-scheduler.ts";

/** Embeds texts in order, one vector per text, at a priority. */
export type EmbedFunction = (texts: string[], priority: EmbedPriority) => Promise<number[][]>;

/**
 * Remembers the last few embeddings by exact text, so that a turn embeds its
 * user message once: for the recall query, and reused when the message is saved.
 */
export function cachedEmbed(embedder: { id: string; embed: EmbedFunction }, capacity = 256): EmbedFunction {
  const cache = new Map<string, number[]>();
  return async (texts, priority) => {
    const known = new Map(texts.flatMap((text) => (cache.has(text) ? [[text, cache.get(text) as number[]]] : [])));
    const missing = [...new Set(texts.filter((text) => !known.has(text)))];
    if (missing.length > 0) {
      const vectors = await embedder.embed(missing, priority);
      if (vectors.length !== missing.length) {
        throw new Error(`embedder ${embedder.id} returned ${vectors.length} vectors for ${missing.length} texts`);
      }
      for (const [index, text] of missing.entries()) known.set(text, vectors[index] as number[]);
    }
    // A Map iterates in insertion order: re-inserting marks a text as recently used.
    for (const [text, vector] of known) {
      cache.delete(text);
      cache.set(text, vector);
    }
    while (cache.size > capacity) cache.delete(cache.keys().next().value as string);
    return texts.map((text) => known.get(text) as number[]);
  };
}
