import { LibSQLStore, LibSQLVector } from "@mastra/libsql";
import { Memory } from "@mastra/memory";
import type { App, EmbeddingModel } from "@session-bridge/server";

/** The vector table Mastra's own Memory uses for 512-dimensional embedders. */
export const mastraIndexName = "memory_messages_512";

/**
 * Mastra Memory as a Mastra user would set it up, on the same memory database,
 * embedder and recall settings as the app: the peer the benchmarks compare with.
 * `embedder`: the model Mastra embeds with when it should not be the app's own
 * (the app's may compute in worker threads, which Mastra's Memory has no way to).
 */
export async function mastraPeer(app: App, embedder: EmbeddingModel = app.embedder.model) {
  if (!app.memoryDatabase) throw new Error("the Mastra peer runs on libSQL");
  const storage = new LibSQLStore({ id: "bench-mastra", client: app.memoryDatabase.client });
  await storage.init();
  const vector = new LibSQLVector({ id: "bench-mastra-vectors", url: app.config.memoryDatabaseUrl });
  const memory = new Memory({
    storage,
    vector,
    embedder,
    options: { lastMessages: 10, semanticRecall: { topK: 4, messageRange: 2, scope: "resource" } },
  });
  const store = await storage.getStore("memory");
  if (!store) throw new Error("Mastra's LibSQLStore has no memory domain");
  return { memory, vector, store };
}
