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
  /** How many query texts wait for an embedder call (the admission check reads it). */
  queuedQueries(): number;
}

export interface EmbeddingSchedulerOptions {
  /** How long background work waits for turns to pass `finish` at most. Default 1 s. */
  maxDeferMs?: number;
  /** Texts per call: queries of several turns share a call up to this many. Default 32. */
  maxBatch?: number;
}

interface Job {
  texts: string[];
  vectors: number[][];
  /** The next text not yet handed to the embedder. */
  next: number;
  /** Texts handed over whose vectors have not come back. */
  outstanding: number;
  priority: EmbedPriority;
  queuedAt: number;
  failed: boolean;
  resolve: (vectors: number[][]) => void;
  reject: (error: unknown) => void;
}

/** One call to the embedder: slices of jobs, in order. */
type Batch = { job: Job; from: number; to: number }[];

/**
 * Feeds the embedder up to `embedder.concurrency` calls at a time (1 when it
 * computes on this thread, one per worker thread otherwise), queries first.
 *
 * Queries waiting together share one call (micro-batching: a batch of 32
 * texts embeds faster per text than 32 calls), without any added wait: a call
 * takes whatever queued while the previous ones ran. Background work goes a
 * text at a time on an embedder that computes on this thread (a query then
 * waits for at most one text), a few texts at a time on worker threads, and
 * waits while any turn is before its `finish`, for at most `maxDeferMs`, so it
 * is never starved.
 *
 * @example
 * const scheduler = createEmbeddingScheduler(embedder);
 * const [vector] = await scheduler.embed(["what did we decide?"], "query");
 */
export function createEmbeddingScheduler(
  embedder: Pick<Embedder, "embed" | "concurrency">,
  options: EmbeddingSchedulerOptions = {},
): EmbeddingScheduler {
  const maxDeferMs = options.maxDeferMs ?? 1_000;
  const maxBatch = options.maxBatch ?? 32;
  const concurrency = Math.max(1, embedder.concurrency ?? 1);
  // An embedder that states its concurrency computes off this thread: a longer background
  // call (8 texts embed at ~1.8x the rate of single calls) then stalls no request.
  const offThread = embedder.concurrency !== undefined;
  const backgroundBatch = offThread ? 8 : 1;
  const queries: Job[] = [];
  const background: Job[] = [];
  let holds = 0;
  let inFlight = 0;
  let deferral: NodeJS.Timeout | undefined;

  /** Up to `limit` texts from the front of `queue`; jobs fully handed over leave it. */
  const take = (queue: Job[], limit: number): Batch => {
    const batch: Batch = [];
    let size = 0;
    while (size < limit) {
      const job = queue[0];
      if (!job) break;
      const to = Math.min(job.texts.length, job.next + limit - size);
      batch.push({ job, from: job.next, to });
      size += to - job.next;
      job.outstanding += to - job.next;
      job.next = to;
      if (job.next === job.texts.length) queue.shift();
    }
    return batch;
  };

  const nextBatch = (): Batch | undefined => {
    if (queries.length > 0) return take(queries, maxBatch);
    const oldest = background[0];
    if (!oldest) return undefined;
    const waited = performance.now() - oldest.queuedAt;
    if (holds === 0 || waited >= maxDeferMs) return take(background, backgroundBatch);
    // Background work waits for the turns to pass `finish`, or for its deferral to run out.
    if (deferral === undefined) {
      deferral = setTimeout(() => {
        deferral = undefined;
        pump();
      }, maxDeferMs - waited).unref();
    }
    return undefined;
  };

  function pump(): void {
    while (inFlight < concurrency) {
      const batch = nextBatch();
      if (!batch) return;
      inFlight += 1;
      void run(batch);
    }
  }

  async function run(batch: Batch): Promise<void> {
    try {
      await embedInto(batch).catch(async (error) => {
        // One job's text (or a provider's hiccup) must not fail the other turns that shared
        // the call: each job's part is tried again on its own, and fails alone.
        // In parallel, so an outage costs the batch one more round, not one per job.
        if (batch.length === 1) throw error;
        await Promise.all(
          batch.map((part) =>
            part.job.failed ? undefined : embedInto([part]).catch((failure) => fail(part.job, failure)),
          ),
        );
      });
    } catch (error) {
      for (const { job } of batch) fail(job, error);
    } finally {
      inFlight -= 1;
      // An embedder on this thread computes inside `embed`: requests get the loop between calls.
      // Worker threads get their next call at once, before the turns this call resumed run
      // their recall (those would otherwise keep the worker idle meanwhile).
      if (!offThread) await yieldToEventLoop();
      pump();
    }
  }

  /** One embedder call for the batch's texts, each vector put in its job; resolves the jobs it completes. */
  async function embedInto(batch: Batch): Promise<void> {
    const texts = batch.flatMap(({ job, from, to }) => job.texts.slice(from, to));
    const vectors = await embedder.embed(texts);
    if (vectors.length !== texts.length) {
      throw new Error(`the embedder returned ${vectors.length} vectors for ${texts.length} texts`);
    }
    let offset = 0;
    for (const { job, from, to } of batch) {
      for (let index = from; index < to; index += 1) job.vectors[index] = vectors[offset++] as number[];
      job.outstanding -= to - from;
      if (!job.failed && job.outstanding === 0 && job.next === job.texts.length) job.resolve(job.vectors);
    }
  }

  /** A job one of whose calls failed: rejected once, its other texts dropped. */
  function fail(job: Job, error: unknown): void {
    if (job.failed) return;
    job.failed = true;
    const queue = job.priority === "query" ? queries : background;
    const position = queue.indexOf(job);
    if (position >= 0) queue.splice(position, 1);
    job.reject(error);
  }

  return {
    embed(texts, priority) {
      if (texts.length === 0) return Promise.resolve([]);
      return new Promise((resolve, reject) => {
        const job: Job = {
          texts,
          vectors: new Array(texts.length),
          next: 0,
          outstanding: 0,
          priority,
          queuedAt: performance.now(),
          failed: false,
          resolve,
          reject,
        };
        (priority === "query" ? queries : background).push(job);
        pump();
      });
    },

    hold() {
      holds += 1;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        holds -= 1;
        if (holds === 0) pump();
      };
    },

    queuedQueries: () => queries.reduce((total, job) => total + job.texts.length - job.next, 0),
  };
}
