import { once } from "node:events";
import { Worker } from "node:worker_threads";
import { defineEmbedder, type Embedder } from "./embedder.ts";

/** What a thread is started with. */
export interface ThreadStart {
  embedderId: string;
}

/** A batch to embed. */
export interface ThreadRequest {
  id: number;
  texts: string[];
}

/** `ready` once the model is loaded; `failed` with id -1 when it could not be. */
export type ThreadReply =
  | { type: "ready"; dimension: number }
  | { type: "vectors"; id: number; flat: Float32Array }
  | { type: "failed"; id: number; message: string };

const entry = new URL("./embedder-thread.js", import.meta.url);

/** A call a thread is working on. */
interface Call {
  texts: string[];
  resolve: (vectors: number[][]) => void;
  reject: (error: unknown) => void;
}

interface Thread {
  worker: Worker;
  calls: Map<number, Call>;
}

/**
 * Embeds in `threads` worker threads (`node:worker_threads`), each with its
 * own copy of the model, so the thread that serves requests never computes a
 * vector. Calls go to the thread with the fewest in flight; the scheduler in
 * front (see `embedding-scheduler.ts`) keeps at most one per thread and
 * batches the texts. A thread that dies fails its calls and is replaced.
 * `close()` waits for the calls in flight, then stops the threads.
 *
 * @example
 * const embedder = await startEmbedderThreads({ embedderId: "local:use-lite", threads: 2 });
 * const [vector] = await embedder.embed(["hello"]);
 * await embedder.close?.();
 */
export async function startEmbedderThreads(options: { embedderId: string; threads: number }): Promise<Embedder> {
  const threads: Thread[] = [];
  let replacing: Promise<void> | undefined;
  let nextId = 0;
  let closing = false;
  let dimension = 0;

  async function spawn(): Promise<Thread> {
    const worker = new Worker(entry, { workerData: { embedderId: options.embedderId } satisfies ThreadStart });
    const thread: Thread = { worker, calls: new Map() };
    const [reply] = (await Promise.race([
      once(worker, "message"),
      once(worker, "exit").then(([code]) => [{ type: "failed", id: -1, message: `exited with code ${code}` }]),
    ])) as [ThreadReply];
    if (reply.type !== "ready") {
      await worker.terminate();
      throw new Error(`the embedder thread could not start: ${reply.type === "failed" ? reply.message : reply.type}`);
    }
    dimension = reply.dimension;
    worker.on("message", (message: ThreadReply) => {
      if (message.type === "ready") return;
      const call = thread.calls.get(message.id);
      if (!call) return;
      thread.calls.delete(message.id);
      if (message.type === "failed") call.reject(new Error(`embedding failed: ${message.message}`));
      else call.resolve(vectorsOf(message.flat, call.texts.length, dimension));
    });
    // A thread that crashes (out of memory, a fault in the model) fails its calls and is replaced.
    worker.on("error", () => {});
    worker.once("exit", (code) => {
      const position = threads.indexOf(thread);
      if (position >= 0) threads.splice(position, 1);
      for (const call of thread.calls.values()) call.reject(new Error(`the embedder thread stopped (code ${code})`));
      thread.calls.clear();
      if (!closing) replace();
    });
    return thread;
  }

  function replace(): void {
    replacing ??= spawn()
      .then((thread) => {
        if (closing) return void thread.worker.terminate();
        threads.push(thread);
      })
      .finally(() => {
        replacing = undefined;
      });
    // A failed replacement is retried by the next call that finds no thread.
    replacing.catch(() => {});
  }

  async function idlest(): Promise<Thread> {
    while (threads.length === 0) {
      if (closing) throw new Error("the embedder threads are closed");
      replace();
      await replacing;
    }
    return threads.reduce((best, thread) => (thread.calls.size < best.calls.size ? thread : best));
  }

  // All start or none stays: threads already running would keep the process alive.
  const started = await Promise.allSettled(Array.from({ length: Math.max(1, options.threads) }, spawn));
  const failure = started.find((result) => result.status === "rejected");
  if (failure) {
    closing = true;
    await Promise.all(started.map((result) => (result.status === "fulfilled" ? result.value.worker.terminate() : 0)));
    throw failure.reason;
  }
  threads.push(...started.flatMap((result) => (result.status === "fulfilled" ? [result.value] : [])));

  /** Every call not yet answered, from its first moment (before it has a thread). */
  const unanswered = new Set<Promise<unknown>>();

  const embedder = defineEmbedder({
    id: options.embedderId,
    dimension,
    maxEmbeddingsPerCall: 32,
    embed(texts) {
      if (closing) return Promise.reject(new Error("the embedder threads are closed"));
      if (texts.length === 0) return Promise.resolve([]);
      const call = idlest().then(
        (thread) =>
          new Promise<number[][]>((resolve, reject) => {
            const id = nextId++;
            thread.calls.set(id, { texts, resolve, reject });
            thread.worker.postMessage({ id, texts } satisfies ThreadRequest);
          }),
      );
      unanswered.add(call);
      const forget = () => unanswered.delete(call);
      call.then(forget, forget);
      return call;
    },
  });
  return {
    ...embedder,
    concurrency: threads.length,
    async close() {
      closing = true;
      await Promise.allSettled(unanswered);
      await replacing?.catch(() => {});
      await Promise.all(threads.map((thread) => thread.worker.terminate()));
    },
  };
}

function vectorsOf(flat: Float32Array, count: number, dimension: number): number[][] {
  return Array.from({ length: count }, (_, index) =>
    Array.from(flat.subarray(index * dimension, (index + 1) * dimension)),
  );
}
