import type { EmbedPriority } from "./embedding-scheduler.ts";

/** Embeds texts in order, one vector per text, at a priority. */
export type EmbedFunction = (texts: string[], priority: EmbedPriority) => Promise<number[][]>;

/** {@link EmbedFunction} for the texts of one user (`scope`, the resource id). */
export type ScopedEmbedFunction = (texts: string[], priority: EmbedPriority, scope: string) => Promise<number[][]>;

/**
 * Remembers the last few embeddings by exact text, so that a turn embeds its
 * user message once: for the recall query, and reused when the message is saved.
 *
 * A text already being embedded is not sent again: a request waits for the
 * embedding in flight when that one is a query's (soon done) or when the
 * request itself is background work. (Under load, the pass that writes saved
 * messages' vectors reads user messages whose recall queries are still queued:
 * without this, each was embedded twice.) A query never waits for background
 * work, which may be held back until turns reach `finish`.
 *
 * Kept per user (`scope`): a text one user had embedded is never a hit for
 * another, whose turn would otherwise reach `finish` an embedding sooner and
 * so learn that someone sent that text.
 */
export function cachedEmbed(embedder: { id: string; embed: EmbedFunction }, capacity = 256): ScopedEmbedFunction {
  const cache = new Map<string, number[]>();
  const inFlight = new Map<string, { priority: EmbedPriority; vector: Promise<number[]> }>();
  return async (texts, priority, scope) => {
    // Keys are the user's (length-prefixed, so no scope and text can pass for another) and the text.
    const keyOf = (text: string) => `${scope.length}:${scope}${text}`;
    const known = new Map(
      texts.flatMap((text) => {
        const vector = cache.get(keyOf(text));
        return vector ? [[text, vector] as const] : [];
      }),
    );
    const waiting = new Map<string, Promise<number[]>>();
    const missing: string[] = [];
    for (const text of new Set(texts)) {
      if (known.has(text)) continue;
      const running = inFlight.get(keyOf(text));
      if (running && (running.priority === "query" || priority === "background")) waiting.set(text, running.vector);
      else missing.push(text);
    }
    if (missing.length > 0) {
      const call = embedder.embed(missing, priority).then((vectors) => {
        if (vectors.length !== missing.length) {
          throw new Error(`embedder ${embedder.id} returned ${vectors.length} vectors for ${missing.length} texts`);
        }
        return vectors;
      });
      const entries = missing.map((text, index) => {
        const entry = { priority, vector: call.then((vectors) => vectors[index] as number[]) };
        // Handled, so that a failure nobody else waits for is not reported as unhandled.
        entry.vector.catch(() => {});
        inFlight.set(keyOf(text), entry);
        return entry;
      });
      try {
        const vectors = await call;
        for (const [index, text] of missing.entries()) {
          known.set(text, vectors[index] as number[]);
          cache.set(keyOf(text), vectors[index] as number[]);
        }
      } finally {
        for (const [index, text] of missing.entries()) {
          if (inFlight.get(keyOf(text)) === entries[index]) inFlight.delete(keyOf(text));
        }
      }
    }
    for (const [text, vector] of waiting) known.set(text, await vector);
    // A Map iterates in insertion order: re-inserting marks a text as recently used.
    for (const [text, vector] of known) {
      cache.delete(keyOf(text));
      cache.set(keyOf(text), vector);
    }
    while (cache.size > capacity) cache.delete(cache.keys().next().value as string);
    return texts.map((text) => known.get(text) as number[]);
  };
}
