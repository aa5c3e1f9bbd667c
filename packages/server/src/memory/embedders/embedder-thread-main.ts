import { parentPort, workerData } from "node:worker_threads";
import type { ThreadReply, ThreadRequest, ThreadStart } from "./embedder-threads.ts";
import { loadUseLiteEmbedder } from "./use-lite.ts";

// One embedder worker thread: loads the model once, then embeds batch after batch.
const port = parentPort;
if (!port) throw new Error("embedder-thread-main.ts runs only as a worker thread");
const start = workerData as ThreadStart;
const post = (reply: ThreadReply, transfer: ArrayBuffer[] = []) => port.postMessage(reply, transfer);

try {
  if (start.embedderId !== "local:use-lite") throw new Error(`no worker-thread embedder "${start.embedderId}"`);
  const embedder = await loadUseLiteEmbedder();
  port.on("message", async (request: ThreadRequest) => {
    try {
      const vectors = await embedder.embed(request.texts);
      // One flat buffer, moved rather than copied: the model computes in float32, so nothing is lost.
      const flat = new Float32Array(vectors.length * embedder.dimension);
      vectors.forEach((vector, index) => {
        flat.set(vector, index * embedder.dimension);
      });
      post({ type: "vectors", id: request.id, flat }, [flat.buffer]);
    } catch (error) {
      post({ type: "failed", id: request.id, message: error instanceof Error ? error.message : String(error) });
    }
  });
  post({ type: "ready", dimension: embedder.dimension });
} catch (error) {
  post({ type: "failed", id: -1, message: error instanceof Error ? error.message : String(error) });
}
