import { setImmediate as yieldToEventLoop } from "node:timers/promises";
import type { Embedder } from "./embedders/embedder.ts";

/**
 * `query`: a turn is waiting for it (its recall). `background`: nobody waits
 * (the answer's vectors after `finish`, crash leftovers, imports).
 */
export type EmbedPriority = "query" | "background";

export interface EmbeddingScheduler {
  embed(texts: string[], priority: EmbedPriority): Promise<number[][]>;
  /**
   * Marks a turn as waiting for its answer until the returned function is
   * called: background work holds back meanwhile (up to `maxDeferMs`).
   */
  hold(): () => void;
}

interface Job {
  texts: string[];
  vectors: number[][];
  priority: EmbedPriority;
  queuedAt: number;
  resolve: (vectors: number[][]) => void;
  reject: (error: unknown) => void;
}

/**
 * Runs one embedding at a time in priority order. The embedder computes on the
 * thread that serves requests and a call cannot be interrupted, so a turn's
 * query goes first, background work goes one text per call (a query waits for
 * at most one text), and background work waits while any turn is before its
 * `finish`, for at most `maxDeferMs`, so it is never starved.
 *
 * @example
 * const scheduler = createEmbeddingScheduler(embedder);
 * const [vector] = await scheduler.embed(["what did we decide?"], "query");
 */
export function createEmbeddingScheduler(embedder: Pick<Embedder, "embed">, maxDeferMs = 1_000): EmbeddingScheduler {
  const queries: Job[] = [];
  const background: Job[] = [];
  let holds = 0;
  let running = false;
  let wake: (() => void) | undefined;

  const next = (): Job | undefined => {
    if (queries.length > 0) return queries.shift();
    const oldest = background[0];
    if (!oldest) return undefined;
    return holds === 0 || performance.now() - oldest.queuedAt >= maxDeferMs ? oldest : undefined;
  };

  async function run(): Promise<void> {
    running = true;
    try {
      for (;;) {
        const job = next();
        if (!job) {
          if (background.length === 0) return;
          // Background work waits for the turns to pass `finish`, or for its deferral to run out.
          await new Promise<void>((resolve) => {
            wake = resolve;
            setTimeout(resolve, maxDeferMs).unref();
          });
          wake = undefined;
          continue;
        }
        // A query embeds whole; background work one text at a time, so a query can cut in.
        const texts =
          job.priority === "query" ? job.texts : job.texts.slice(job.vectors.length, job.vectors.length + 1);
        try {
          job.vectors.push(...(await embedder.embed(texts)));
        } catch (error) {
          if (job.priority === "background") background.shift();
          job.reject(error);
          continue;
        }
        if (job.vectors.length === job.texts.length) {
          if (job.priority === "background") background.shift();
          job.resolve(job.vectors);
        } else {
          job.queuedAt = performance.now();
        }
        await yieldToEventLoop();
      }
    } finally {
      running = false;
    }
  }

  return {
    embed(texts, priority) {
      if (texts.length === 0) return Promise.resolve([]);
      return new Promise((resolve, reject) => {
        const job: Job = { texts, vectors: [], priority, queuedAt: performance.now(), resolve, reject };
        (priority === "query" ? queries : background).push(job);
        wake?.();
        if (!running) void run();
      });
    },

    hold() {
      holds += 1;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        holds -= 1;
        if (holds === 0) wake?.();
      };
    },
  };
}
